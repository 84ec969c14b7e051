//! A synthetic construction-materials catalogue for demos, tests and load
//! runs (`respite seed`).
//!
//! Records are built from tables of real product kinds (cement, facing
//! brick, plasterboard …) combined with grades, sizes, brands and suppliers,
//! about 70% named in Russian and the rest in English. Each record depends
//! only on the seed and its position, so the same seed always gives the same
//! catalogue, and a longer catalogue extends a shorter one.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::model::Material;

/// The fixed creation time of every generated record (2024-01-01T00:00Z), so
/// output depends on the seed alone.
const BASE_TIME_SECS: i64 = 1_704_067_200;
/// Share of records named in Russian.
const RUSSIAN_SHARE: f64 = 0.7;
/// Share of records carrying a stock flag in their attributes.
const STOCK_SHARE: f64 = 0.85;

/// `count` materials with ids `m-000001` …, the same for the same `seed`.
pub fn generate(count: usize, seed: u64) -> impl Iterator<Item = Material> {
    (0..count).map(move |i| material(seed, i))
}

// ---------------------------------------------------------------------------
// PRNG

/// splitmix64: tiny, fast and good enough to pick catalogue entries; ours so
/// output never changes with a dependency's version.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n ≥ 1).
    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize
    }

    /// One element of a non-empty slice, or `None` for an empty one.
    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len().max(1)))
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

// ---------------------------------------------------------------------------
// Tables

/// A text in both languages.
type Pair = (&'static str, &'static str);
/// A grade, colour or type: Russian, English, and an ASCII sku code.
type Spec = (&'static str, &'static str, &'static str);
/// A size: Russian label, English label, numeric value for the attribute.
type Size = (&'static str, &'static str, f64);

/// One product kind within a category.
struct Product {
    name: Pair,
    /// Sku prefix, unique across the catalogue.
    code: &'static str,
    unit: &'static str,
    /// Price range per unit, roubles.
    price: (f64, f64),
    /// Attribute holding the spec (`grade`, `colour`, `type` …).
    spec_key: &'static str,
    specs: &'static [Spec],
    /// Attribute holding the size (`weight_kg`, `thickness_mm` …).
    size_key: &'static str,
    sizes: &'static [Size],
}

struct Category {
    name: &'static str,
    /// The supplier specialising in this category.
    supplier: &'static str,
    /// What the category's goods are for, one sentence per language.
    usage: Pair,
    brands: &'static [Pair],
    products: &'static [Product],
}

/// Suppliers of every category; each category also has its specialist.
const GENERAL_SUPPLIERS: &[&str] = &[
    "ООО «СтройБаза»",
    "ТД «Монолит»",
    "СтройОптТорг",
    "Мегастрой",
    "BuildPro Supply",
    "Prime Materials",
    "UniBuild Trading",
    "Volga Building Supply",
];
/// Share of records sold by their category's specialist supplier.
const SPECIALIST_SHARE: f64 = 0.5;

/// Product lines a brand sells under, added to some names.
const LINES: &[Pair] = &[
    ("Стандарт", "Standard"),
    ("Профи", "Pro"),
    ("Эконом", "Economy"),
    ("Премиум", "Premium"),
    ("Плюс", "Plus"),
];
/// Share of records naming a product line.
const LINE_SHARE: f64 = 0.35;

const DESCRIPTIONS_RU: &[&str] = &[
    "{name}. {usage} Поставщик: {supplier}.",
    "{name}. Производитель: {brand}. {usage} Единица продажи: {unit}.",
    "{usage} {name} — в наличии на складе {supplier}.",
];

const DESCRIPTIONS_EN: &[&str] = &[
    "{name}. {usage} Supplied by {supplier}.",
    "{name}. Manufacturer: {brand}. {usage} Sold per {unit}.",
    "{usage} {name}, stocked by {supplier}.",
];

const BAGS: &[Size] = &[
    ("25 кг", "25 kg", 25.0),
    ("40 кг", "40 kg", 40.0),
    ("50 кг", "50 kg", 50.0),
];

const CATEGORIES: &[Category] = &[
    Category {
        name: "Цемент и смеси",
        supplier: "Сухие смеси Опт",
        usage: (
            "Для строительных и отделочных работ.",
            "For construction and finishing work.",
        ),
        brands: &[
            ("Евроцемент", "Eurocement"),
            ("Knauf", "Knauf"),
            ("Ceresit", "Ceresit"),
            ("Волма", "Volma"),
            ("Основит", "Osnovit"),
            ("Bergauf", "Bergauf"),
        ],
        products: &[
            Product {
                name: ("Цемент", "Portland cement"),
                code: "CEM",
                unit: "меш",
                price: (380.0, 650.0),
                spec_key: "grade",
                specs: &[
                    ("М400", "M400", "M400"),
                    ("М500", "M500", "M500"),
                    ("ЦЕМ I 42,5Н", "CEM I 42.5N", "C425"),
                    ("ЦЕМ II 32,5Б", "CEM II 32.5B", "C325"),
                ],
                size_key: "weight_kg",
                sizes: BAGS,
            },
            Product {
                name: ("Штукатурка гипсовая", "Gypsum plaster"),
                code: "PLS",
                unit: "меш",
                price: (350.0, 650.0),
                spec_key: "type",
                specs: &[
                    ("машинная", "machine-applied", "MN"),
                    ("ручная", "hand-applied", "HD"),
                ],
                size_key: "weight_kg",
                sizes: &[("5 кг", "5 kg", 5.0), ("30 кг", "30 kg", 30.0)],
            },
            Product {
                name: ("Шпаклёвка финишная", "Finishing putty"),
                code: "PUT",
                unit: "меш",
                price: (300.0, 900.0),
                spec_key: "type",
                specs: &[
                    ("полимерная", "polymer", "PL"),
                    ("гипсовая", "gypsum", "GP"),
                    ("цементная", "cement-based", "CM"),
                ],
                size_key: "weight_kg",
                sizes: &[("5 кг", "5 kg", 5.0), ("20 кг", "20 kg", 20.0)],
            },
            Product {
                name: ("Клей плиточный", "Tile adhesive"),
                code: "ADH",
                unit: "меш",
                price: (250.0, 800.0),
                spec_key: "class",
                specs: &[
                    ("C0", "C0", "C0"),
                    ("C1", "C1", "C1"),
                    ("C2 TE", "C2 TE", "C2TE"),
                ],
                size_key: "weight_kg",
                sizes: &[("5 кг", "5 kg", 5.0), ("25 кг", "25 kg", 25.0)],
            },
            Product {
                name: ("Пескобетон", "Sand concrete mix"),
                code: "SCM",
                unit: "меш",
                price: (180.0, 350.0),
                spec_key: "grade",
                specs: &[("М200", "M200", "M200"), ("М300", "M300", "M300")],
                size_key: "weight_kg",
                sizes: BAGS,
            },
            Product {
                name: ("Наливной пол", "Self-levelling screed"),
                code: "SLF",
                unit: "меш",
                price: (400.0, 900.0),
                spec_key: "type",
                specs: &[
                    ("быстротвердеющий", "rapid-setting", "RS"),
                    ("финишный", "finishing", "FN"),
                ],
                size_key: "weight_kg",
                sizes: &[("20 кг", "20 kg", 20.0), ("25 кг", "25 kg", 25.0)],
            },
            Product {
                name: ("Бетон товарный", "Ready-mix concrete"),
                code: "RMC",
                unit: "м³",
                price: (4800.0, 7500.0),
                spec_key: "grade",
                specs: &[
                    ("B15 М200", "B15 M200", "B15"),
                    ("B22,5 М300", "B22.5 M300", "B225"),
                    ("B25 М350", "B25 M350", "B25"),
                    ("B30 М400", "B30 M400", "B30"),
                ],
                size_key: "",
                sizes: &[],
            },
        ],
    },
    Category {
        name: "Кирпич и блоки",
        supplier: "ТД «Кирпичный двор»",
        usage: (
            "Для кладки стен и перегородок.",
            "For walls and partitions.",
        ),
        brands: &[
            ("Braer", "Braer"),
            ("Wienerberger", "Wienerberger"),
            ("ЛСР", "LSR"),
            ("Ytong", "Ytong"),
            ("Bonolit", "Bonolit"),
            ("Кирово-Чепецкий КЗ", "Kirovo-Chepetsk"),
        ],
        products: &[
            Product {
                name: ("Кирпич облицовочный", "Facing brick"),
                code: "FBR",
                unit: "шт",
                price: (18.0, 65.0),
                spec_key: "colour",
                specs: &[
                    ("красный", "red", "RED"),
                    ("жёлтый", "yellow", "YEL"),
                    ("коричневый", "brown", "BRN"),
                    ("белый", "white", "WHT"),
                    ("флэш", "flashed", "FLS"),
                ],
                size_key: "format_nf",
                sizes: &[
                    ("одинарный 1НФ", "single 1NF", 1.0),
                    ("полуторный 1,4НФ", "one-and-a-half 1.4NF", 1.4),
                ],
            },
            Product {
                name: ("Кирпич рядовой полнотелый", "Solid common brick"),
                code: "CBR",
                unit: "шт",
                price: (12.0, 30.0),
                spec_key: "grade",
                specs: &[
                    ("М125", "M125", "M125"),
                    ("М150", "M150", "M150"),
                    ("М175", "M175", "M175"),
                ],
                size_key: "format_nf",
                sizes: &[("1НФ", "1NF", 1.0), ("1,4НФ", "1.4NF", 1.4)],
            },
            Product {
                name: ("Кирпич силикатный", "Sand-lime brick"),
                code: "SLB",
                unit: "шт",
                price: (14.0, 28.0),
                spec_key: "grade",
                specs: &[("М150", "M150", "M150"), ("М200", "M200", "M200")],
                size_key: "format_nf",
                sizes: &[("1НФ", "1NF", 1.0), ("1,4НФ", "1.4NF", 1.4)],
            },
            Product {
                name: ("Газобетонный блок", "Aerated concrete block"),
                code: "AAC",
                unit: "шт",
                price: (110.0, 380.0),
                spec_key: "density",
                specs: &[
                    ("D400", "D400", "D400"),
                    ("D500", "D500", "D500"),
                    ("D600", "D600", "D600"),
                ],
                size_key: "thickness_mm",
                sizes: &[
                    ("600×250×100 мм", "600x250x100 mm", 100.0),
                    ("600×250×200 мм", "600x250x200 mm", 200.0),
                    ("600×250×300 мм", "600x250x300 mm", 300.0),
                ],
            },
            Product {
                name: ("Керамический блок", "Ceramic block"),
                code: "CBL",
                unit: "шт",
                price: (120.0, 320.0),
                spec_key: "format",
                specs: &[("10,7НФ", "10.7NF", "107"), ("14,3НФ", "14.3NF", "143")],
                size_key: "thickness_mm",
                sizes: &[("250 мм", "250 mm", 250.0), ("380 мм", "380 mm", 380.0)],
            },
            Product {
                name: ("Пеноблок", "Foam concrete block"),
                code: "FCB",
                unit: "шт",
                price: (90.0, 200.0),
                spec_key: "density",
                specs: &[("D500", "D500", "D500"), ("D600", "D600", "D600")],
                size_key: "thickness_mm",
                sizes: &[("100 мм", "100 mm", 100.0), ("200 мм", "200 mm", 200.0)],
            },
        ],
    },
    Category {
        name: "Гипсокартон",
        supplier: "ГипсСтрой",
        usage: (
            "Для перегородок, облицовки стен и потолков.",
            "For partitions, wall linings and ceilings.",
        ),
        brands: &[
            ("Knauf", "Knauf"),
            ("Волма", "Volma"),
            ("Gyproc", "Gyproc"),
            ("Магма", "Magma"),
            ("Лафарж", "Lafarge"),
        ],
        products: &[
            Product {
                name: ("Гипсокартон стеновой", "Plasterboard"),
                code: "GKL",
                unit: "шт",
                price: (350.0, 650.0),
                spec_key: "type",
                specs: &[
                    ("ГКЛ", "standard", "STD"),
                    ("влагостойкий ГКЛВ", "moisture-resistant", "MR"),
                    ("огнестойкий ГКЛО", "fire-resistant", "FR"),
                ],
                size_key: "thickness_mm",
                sizes: &[
                    ("2500×1200×9,5 мм", "2500x1200x9.5 mm", 9.5),
                    ("2500×1200×12,5 мм", "2500x1200x12.5 mm", 12.5),
                ],
            },
            Product {
                name: ("Гипсокартон потолочный", "Ceiling plasterboard"),
                code: "GKP",
                unit: "шт",
                price: (300.0, 500.0),
                spec_key: "type",
                specs: &[
                    ("ГКЛ", "standard", "STD"),
                    ("ГКЛВ", "moisture-resistant", "MR"),
                ],
                size_key: "thickness_mm",
                sizes: &[("9,5 мм", "9.5 mm", 9.5)],
            },
            Product {
                name: ("Гипсоволокнистый лист ГВЛ", "Gypsum fibre board"),
                code: "GVL",
                unit: "шт",
                price: (500.0, 900.0),
                spec_key: "type",
                specs: &[
                    ("стандартный", "standard", "STD"),
                    ("влагостойкий", "moisture-resistant", "MR"),
                ],
                size_key: "thickness_mm",
                sizes: &[("10 мм", "10 mm", 10.0), ("12,5 мм", "12.5 mm", 12.5)],
            },
            Product {
                name: ("Профиль потолочный ПП 60×27", "Ceiling profile CD 60x27"),
                code: "PCD",
                unit: "шт",
                price: (80.0, 200.0),
                spec_key: "steel_mm",
                specs: &[("0,45 мм", "0.45 mm", "045"), ("0,6 мм", "0.6 mm", "060")],
                size_key: "length_mm",
                sizes: &[("3 м", "3 m", 3000.0), ("4 м", "4 m", 4000.0)],
            },
            Product {
                name: ("Профиль направляющий ПН 28×27", "Ceiling track UD 28x27"),
                code: "PUD",
                unit: "шт",
                price: (60.0, 150.0),
                spec_key: "steel_mm",
                specs: &[("0,45 мм", "0.45 mm", "045"), ("0,6 мм", "0.6 mm", "060")],
                size_key: "length_mm",
                sizes: &[("3 м", "3 m", 3000.0)],
            },
            Product {
                name: ("Лента армирующая серпянка", "Joint reinforcing tape"),
                code: "JTP",
                unit: "рул",
                price: (60.0, 250.0),
                spec_key: "width",
                specs: &[("45 мм", "45 mm", "45"), ("50 мм", "50 mm", "50")],
                size_key: "length_m",
                sizes: &[
                    ("20 м", "20 m", 20.0),
                    ("45 м", "45 m", 45.0),
                    ("90 м", "90 m", 90.0),
                ],
            },
        ],
    },
    Category {
        name: "Утеплитель",
        supplier: "GreenHouse Insulation",
        usage: (
            "Для теплоизоляции и звукоизоляции.",
            "For thermal and sound insulation.",
        ),
        brands: &[
            ("ТехноНИКОЛЬ", "TechnoNICOL"),
            ("Rockwool", "Rockwool"),
            ("Knauf Insulation", "Knauf Insulation"),
            ("Isover", "Isover"),
            ("Пеноплэкс", "Penoplex"),
            ("Ursa", "Ursa"),
        ],
        products: &[
            Product {
                name: ("Минеральная вата", "Mineral wool slab"),
                code: "MWL",
                unit: "упак",
                price: (800.0, 2500.0),
                spec_key: "type",
                specs: &[
                    ("лёгкая", "light", "LT"),
                    ("фасадная", "facade", "FC"),
                    ("акустическая", "acoustic", "AC"),
                ],
                size_key: "thickness_mm",
                sizes: &[
                    ("50 мм", "50 mm", 50.0),
                    ("100 мм", "100 mm", 100.0),
                    ("150 мм", "150 mm", 150.0),
                ],
            },
            Product {
                name: (
                    "Экструдированный пенополистирол",
                    "Extruded polystyrene XPS",
                ),
                code: "XPS",
                unit: "упак",
                price: (1200.0, 3500.0),
                spec_key: "type",
                specs: &[
                    ("Комфорт", "Comfort", "CMF"),
                    ("Фундамент", "Foundation", "FND"),
                    ("Кровля", "Roof", "ROF"),
                ],
                size_key: "thickness_mm",
                sizes: &[
                    ("30 мм", "30 mm", 30.0),
                    ("50 мм", "50 mm", 50.0),
                    ("100 мм", "100 mm", 100.0),
                ],
            },
            Product {
                name: ("Пенопласт", "EPS foam board"),
                code: "EPS",
                unit: "м³",
                price: (3500.0, 6500.0),
                spec_key: "grade",
                specs: &[
                    ("ППС-15", "EPS-15", "15"),
                    ("ППС-25", "EPS-25", "25"),
                    ("ППС-35", "EPS-35", "35"),
                ],
                size_key: "thickness_mm",
                sizes: &[("50 мм", "50 mm", 50.0), ("100 мм", "100 mm", 100.0)],
            },
            Product {
                name: ("Стекловата в рулонах", "Glass wool roll"),
                code: "GWR",
                unit: "рул",
                price: (900.0, 2200.0),
                spec_key: "type",
                specs: &[
                    ("для кровли", "roof", "RF"),
                    ("для перегородок", "partition", "PT"),
                ],
                size_key: "thickness_mm",
                sizes: &[("50 мм", "50 mm", 50.0), ("100 мм", "100 mm", 100.0)],
            },
            Product {
                name: ("Пароизоляционная плёнка", "Vapour barrier membrane"),
                code: "VBM",
                unit: "рул",
                price: (700.0, 2500.0),
                spec_key: "class",
                specs: &[("тип B", "type B", "B"), ("тип C", "type C", "C")],
                size_key: "area_m2",
                sizes: &[("30 м²", "30 m²", 30.0), ("70 м²", "70 m²", 70.0)],
            },
        ],
    },
    Category {
        name: "Кровля",
        supplier: "Baltic Roofing",
        usage: (
            "Для устройства и ремонта кровли.",
            "For building and repairing roofs.",
        ),
        brands: &[
            ("ТехноНИКОЛЬ", "TechnoNICOL"),
            ("Grand Line", "Grand Line"),
            ("Металл Профиль", "Metal Profil"),
            ("Ондулин", "Onduline"),
            ("Docke", "Docke"),
            ("Ruukki", "Ruukki"),
        ],
        products: &[
            Product {
                name: ("Металлочерепица", "Metal roof tile"),
                code: "MRT",
                unit: "м²",
                price: (450.0, 950.0),
                spec_key: "colour",
                specs: &[
                    ("RAL 3005 вишнёвый", "RAL 3005 wine red", "3005"),
                    ("RAL 8017 шоколад", "RAL 8017 chocolate brown", "8017"),
                    ("RAL 6005 зелёный мох", "RAL 6005 moss green", "6005"),
                    ("RAL 7024 графит", "RAL 7024 graphite", "7024"),
                ],
                size_key: "thickness_mm",
                sizes: &[("0,45 мм", "0.45 mm", 0.45), ("0,5 мм", "0.5 mm", 0.5)],
            },
            Product {
                name: ("Профнастил С20", "Corrugated sheet C20"),
                code: "PNS",
                unit: "м²",
                price: (350.0, 800.0),
                spec_key: "colour",
                specs: &[
                    ("оцинкованный", "galvanised", "ZN"),
                    ("RAL 5005 синий", "RAL 5005 signal blue", "5005"),
                    ("RAL 9003 белый", "RAL 9003 signal white", "9003"),
                ],
                size_key: "thickness_mm",
                sizes: &[
                    ("0,45 мм", "0.45 mm", 0.45),
                    ("0,5 мм", "0.5 mm", 0.5),
                    ("0,7 мм", "0.7 mm", 0.7),
                ],
            },
            Product {
                name: ("Гибкая черепица", "Asphalt shingles"),
                code: "SHG",
                unit: "упак",
                price: (1200.0, 3500.0),
                spec_key: "style",
                specs: &[
                    ("Соната", "Sonata", "SON"),
                    ("Джаз", "Jazz", "JAZ"),
                    ("Кантри", "Country", "CNT"),
                ],
                size_key: "area_m2",
                sizes: &[("3 м²", "3 m²", 3.0), ("3,5 м²", "3.5 m²", 3.5)],
            },
            Product {
                name: ("Рубероид", "Roofing felt"),
                code: "RBF",
                unit: "рул",
                price: (300.0, 900.0),
                spec_key: "grade",
                specs: &[("РКП-350", "RKP-350", "RKP"), ("РКК-350", "RKK-350", "RKK")],
                size_key: "area_m2",
                sizes: &[("10 м²", "10 m²", 10.0), ("15 м²", "15 m²", 15.0)],
            },
            Product {
                name: (
                    "Гидроизоляция наплавляемая",
                    "Torch-on waterproofing membrane",
                ),
                code: "TWM",
                unit: "рул",
                price: (1500.0, 4000.0),
                spec_key: "layer",
                specs: &[
                    ("ЭПП нижний слой", "EPP underlay", "EPP"),
                    ("ЭКП верхний слой", "EKP cap sheet", "EKP"),
                ],
                size_key: "area_m2",
                sizes: &[("10 м²", "10 m²", 10.0)],
            },
            Product {
                name: ("Водосточный желоб", "Rain gutter"),
                code: "GUT",
                unit: "шт",
                price: (350.0, 1200.0),
                spec_key: "material",
                specs: &[
                    ("пластиковый", "PVC", "PVC"),
                    ("металлический", "steel", "STL"),
                ],
                size_key: "length_mm",
                sizes: &[("3 м", "3 m", 3000.0)],
            },
        ],
    },
    Category {
        name: "Пиломатериалы",
        supplier: "Nordic Timber Trade",
        usage: (
            "Для каркасов, перекрытий и отделки.",
            "For framing, floors and finishing.",
        ),
        brands: &[
            ("Сегежа", "Segezha"),
            ("Илим", "Ilim"),
            ("Stora Enso", "Stora Enso"),
            ("Вологодский лес", "Vologda Timber"),
            ("Kronospan", "Kronospan"),
            ("Egger", "Egger"),
        ],
        products: &[
            Product {
                name: ("Доска обрезная", "Edged board"),
                code: "EDB",
                unit: "м³",
                price: (14000.0, 26000.0),
                spec_key: "grade",
                specs: &[("1 сорт", "grade 1", "G1"), ("2 сорт", "grade 2", "G2")],
                size_key: "thickness_mm",
                sizes: &[
                    ("25×150×6000 мм", "25x150x6000 mm", 25.0),
                    ("40×150×6000 мм", "40x150x6000 mm", 40.0),
                    ("50×150×6000 мм", "50x150x6000 mm", 50.0),
                ],
            },
            Product {
                name: ("Брус", "Timber beam"),
                code: "BEM",
                unit: "м³",
                price: (15000.0, 28000.0),
                spec_key: "drying",
                specs: &[
                    ("естественной влажности", "green", "GR"),
                    ("камерной сушки", "kiln-dried", "KD"),
                ],
                size_key: "thickness_mm",
                sizes: &[
                    ("100×100×6000 мм", "100x100x6000 mm", 100.0),
                    ("150×150×6000 мм", "150x150x6000 mm", 150.0),
                    ("200×200×6000 мм", "200x200x6000 mm", 200.0),
                ],
            },
            Product {
                name: ("Вагонка", "Tongue-and-groove lining"),
                code: "TGL",
                unit: "м²",
                price: (350.0, 900.0),
                spec_key: "grade",
                specs: &[
                    ("сорт A", "class A", "A"),
                    ("сорт B", "class B", "B"),
                    ("Экстра", "Extra", "EX"),
                ],
                size_key: "thickness_mm",
                sizes: &[("12,5 мм", "12.5 mm", 12.5), ("14 мм", "14 mm", 14.0)],
            },
            Product {
                name: ("Фанера", "Plywood"),
                code: "PLY",
                unit: "шт",
                price: (600.0, 2500.0),
                spec_key: "grade",
                specs: &[("берёзовая ФК", "birch FK", "FK"), ("ФСФ", "FSF", "FSF")],
                size_key: "thickness_mm",
                sizes: &[
                    ("6 мм", "6 mm", 6.0),
                    ("9 мм", "9 mm", 9.0),
                    ("12 мм", "12 mm", 12.0),
                    ("18 мм", "18 mm", 18.0),
                ],
            },
            Product {
                name: ("Плита OSB-3", "OSB-3 board"),
                code: "OSB",
                unit: "шт",
                price: (600.0, 1500.0),
                spec_key: "edge",
                specs: &[
                    ("прямая кромка", "square edge", "SQ"),
                    ("шип-паз", "tongue and groove", "TG"),
                ],
                size_key: "thickness_mm",
                sizes: &[
                    ("9 мм", "9 mm", 9.0),
                    ("12 мм", "12 mm", 12.0),
                    ("18 мм", "18 mm", 18.0),
                ],
            },
            Product {
                name: ("Брусок строганый", "Planed batten"),
                code: "PBT",
                unit: "пог. м",
                price: (40.0, 120.0),
                spec_key: "species",
                specs: &[("сосна", "pine", "PN"), ("ель", "spruce", "SP")],
                size_key: "thickness_mm",
                sizes: &[
                    ("20×40 мм", "20x40 mm", 20.0),
                    ("40×50 мм", "40x50 mm", 40.0),
                ],
            },
        ],
    },
    Category {
        name: "Металлопрокат",
        supplier: "МеталлСнаб",
        usage: (
            "Для армирования и металлоконструкций.",
            "For reinforcement and steelwork.",
        ),
        brands: &[
            ("Северсталь", "Severstal"),
            ("ММК", "MMK"),
            ("НЛМК", "NLMK"),
            ("Евраз", "EVRAZ"),
            ("Мечел", "Mechel"),
        ],
        products: &[
            Product {
                name: ("Арматура", "Rebar"),
                code: "REB",
                unit: "т",
                price: (55000.0, 75000.0),
                spec_key: "grade",
                specs: &[("А500С", "A500C", "A500"), ("А240", "A240", "A240")],
                size_key: "diameter_mm",
                sizes: &[
                    ("8 мм", "8 mm", 8.0),
                    ("10 мм", "10 mm", 10.0),
                    ("12 мм", "12 mm", 12.0),
                    ("16 мм", "16 mm", 16.0),
                ],
            },
            Product {
                name: ("Труба профильная", "Square steel tube"),
                code: "SQT",
                unit: "пог. м",
                price: (120.0, 600.0),
                spec_key: "section",
                specs: &[
                    ("20×20", "20x20", "2020"),
                    ("40×20", "40x20", "4020"),
                    ("40×40", "40x40", "4040"),
                    ("60×40", "60x40", "6040"),
                ],
                size_key: "wall_mm",
                sizes: &[
                    ("стенка 2 мм", "2 mm wall", 2.0),
                    ("стенка 3 мм", "3 mm wall", 3.0),
                ],
            },
            Product {
                name: ("Уголок стальной", "Steel angle"),
                code: "ANG",
                unit: "пог. м",
                price: (90.0, 450.0),
                spec_key: "section",
                specs: &[
                    ("25×25", "25x25", "25"),
                    ("40×40", "40x40", "40"),
                    ("50×50", "50x50", "50"),
                    ("63×63", "63x63", "63"),
                ],
                size_key: "thickness_mm",
                sizes: &[
                    ("3 мм", "3 mm", 3.0),
                    ("4 мм", "4 mm", 4.0),
                    ("5 мм", "5 mm", 5.0),
                ],
            },
            Product {
                name: ("Швеллер", "Steel channel"),
                code: "CHN",
                unit: "пог. м",
                price: (500.0, 1500.0),
                spec_key: "size",
                specs: &[
                    ("8П", "8P", "8P"),
                    ("10П", "10P", "10P"),
                    ("12П", "12P", "12P"),
                ],
                size_key: "",
                sizes: &[],
            },
            Product {
                name: ("Лист горячекатаный", "Hot-rolled steel sheet"),
                code: "HRS",
                unit: "т",
                price: (60000.0, 85000.0),
                spec_key: "grade",
                specs: &[("Ст3", "St3", "ST3"), ("09Г2С", "09G2S", "09G2S")],
                size_key: "thickness_mm",
                sizes: &[
                    ("2 мм", "2 mm", 2.0),
                    ("3 мм", "3 mm", 3.0),
                    ("4 мм", "4 mm", 4.0),
                    ("6 мм", "6 mm", 6.0),
                ],
            },
            Product {
                name: ("Сетка кладочная", "Masonry mesh"),
                code: "MSH",
                unit: "шт",
                price: (80.0, 250.0),
                spec_key: "cell",
                specs: &[
                    ("ячейка 50×50", "50x50 cell", "50"),
                    ("ячейка 100×100", "100x100 cell", "100"),
                ],
                size_key: "wire_mm",
                sizes: &[
                    ("проволока 3 мм", "3 mm wire", 3.0),
                    ("проволока 4 мм", "4 mm wire", 4.0),
                ],
            },
            Product {
                name: ("Проволока вязальная", "Binding wire"),
                code: "BWR",
                unit: "кг",
                price: (120.0, 220.0),
                spec_key: "finish",
                specs: &[
                    ("отожжённая", "annealed", "AN"),
                    ("оцинкованная", "galvanised", "ZN"),
                ],
                size_key: "diameter_mm",
                sizes: &[("1,2 мм", "1.2 mm", 1.2), ("1,6 мм", "1.6 mm", 1.6)],
            },
        ],
    },
    Category {
        name: "Плитка",
        supplier: "Керамика Плюс",
        usage: (
            "Для облицовки полов и стен.",
            "For floor and wall finishes.",
        ),
        brands: &[
            ("Kerama Marazzi", "Kerama Marazzi"),
            ("Cersanit", "Cersanit"),
            ("Laparet", "Laparet"),
            ("Gracia Ceramica", "Gracia Ceramica"),
            ("Estima", "Estima"),
            ("Italon", "Italon"),
        ],
        products: &[
            Product {
                name: ("Керамогранит", "Porcelain stoneware"),
                code: "PGS",
                unit: "м²",
                price: (900.0, 3500.0),
                spec_key: "finish",
                specs: &[
                    ("матовый", "matt", "MT"),
                    ("полированный", "polished", "PL"),
                    ("структурированный", "structured", "ST"),
                ],
                size_key: "size_mm",
                sizes: &[
                    ("30×30 см", "30x30 cm", 300.0),
                    ("60×60 см", "60x60 cm", 600.0),
                    ("60×120 см", "60x120 cm", 1200.0),
                ],
            },
            Product {
                name: ("Плитка настенная", "Wall tile"),
                code: "WTL",
                unit: "м²",
                price: (600.0, 1800.0),
                spec_key: "colour",
                specs: &[
                    ("белая", "white", "WH"),
                    ("бежевая", "beige", "BG"),
                    ("серая", "grey", "GR"),
                ],
                size_key: "size_mm",
                sizes: &[
                    ("20×30 см", "20x30 cm", 300.0),
                    ("25×40 см", "25x40 cm", 400.0),
                ],
            },
            Product {
                name: ("Плитка напольная", "Floor tile"),
                code: "FTL",
                unit: "м²",
                price: (700.0, 2000.0),
                spec_key: "colour",
                specs: &[
                    ("бежевая", "beige", "BG"),
                    ("серая", "grey", "GR"),
                    ("под дерево", "wood-look", "WD"),
                ],
                size_key: "size_mm",
                sizes: &[
                    ("33×33 см", "33x33 cm", 330.0),
                    ("42×42 см", "42x42 cm", 420.0),
                ],
            },
            Product {
                name: ("Мозаика", "Mosaic"),
                code: "MOS",
                unit: "шт",
                price: (250.0, 900.0),
                spec_key: "material",
                specs: &[
                    ("стеклянная", "glass", "GL"),
                    ("керамическая", "ceramic", "CR"),
                ],
                size_key: "",
                sizes: &[],
            },
            Product {
                name: ("Клинкерная плитка", "Clinker tile"),
                code: "CLK",
                unit: "м²",
                price: (1500.0, 3800.0),
                spec_key: "colour",
                specs: &[("красная", "red", "RD"), ("коричневая", "brown", "BR")],
                size_key: "",
                sizes: &[],
            },
            Product {
                name: ("Затирка для швов", "Tile grout"),
                code: "GRT",
                unit: "кг",
                price: (150.0, 450.0),
                spec_key: "colour",
                specs: &[
                    ("белая", "white", "WH"),
                    ("серая", "grey", "GR"),
                    ("антрацит", "anthracite", "AN"),
                ],
                size_key: "weight_kg",
                sizes: &[("2 кг", "2 kg", 2.0), ("5 кг", "5 kg", 5.0)],
            },
        ],
    },
    Category {
        name: "Краски",
        supplier: "Краски Урала",
        usage: (
            "Для окраски и защиты поверхностей.",
            "For painting and protecting surfaces.",
        ),
        brands: &[
            ("Tikkurila", "Tikkurila"),
            ("Dulux", "Dulux"),
            ("Текс", "Teks"),
            ("Caparol", "Caparol"),
            ("Alpina", "Alpina"),
            ("Ярославские краски", "Yaroslavl Paints"),
        ],
        products: &[
            Product {
                name: ("Краска водоэмульсионная", "Water-based paint"),
                code: "WBP",
                unit: "л",
                price: (150.0, 700.0),
                spec_key: "colour",
                specs: &[
                    ("белая матовая", "matt white", "MW"),
                    ("супербелая", "super white", "SW"),
                    ("база A под колеровку", "tintable base A", "BA"),
                ],
                size_key: "volume_l",
                sizes: &[
                    ("2,5 л", "2.5 l", 2.5),
                    ("5 л", "5 l", 5.0),
                    ("10 л", "10 l", 10.0),
                ],
            },
            Product {
                name: ("Краска фасадная", "Facade paint"),
                code: "FCP",
                unit: "л",
                price: (250.0, 900.0),
                spec_key: "base",
                specs: &[
                    ("акриловая", "acrylic", "AC"),
                    ("силиконовая", "silicone", "SI"),
                ],
                size_key: "volume_l",
                sizes: &[("9 л", "9 l", 9.0), ("15 л", "15 l", 15.0)],
            },
            Product {
                name: ("Эмаль ПФ-115", "Alkyd enamel PF-115"),
                code: "ENM",
                unit: "кг",
                price: (180.0, 450.0),
                spec_key: "colour",
                specs: &[
                    ("белая", "white", "WH"),
                    ("чёрная", "black", "BK"),
                    ("синяя", "blue", "BL"),
                    ("красная", "red", "RD"),
                ],
                size_key: "weight_kg",
                sizes: &[
                    ("0,9 кг", "0.9 kg", 0.9),
                    ("2,7 кг", "2.7 kg", 2.7),
                    ("20 кг", "20 kg", 20.0),
                ],
            },
            Product {
                name: (
                    "Грунтовка глубокого проникновения",
                    "Deep-penetrating primer",
                ),
                code: "PRM",
                unit: "л",
                price: (60.0, 250.0),
                spec_key: "base",
                specs: &[
                    ("акриловая", "acrylic", "AC"),
                    ("антисептическая", "antiseptic", "AS"),
                ],
                size_key: "volume_l",
                sizes: &[("5 л", "5 l", 5.0), ("10 л", "10 l", 10.0)],
            },
            Product {
                name: ("Лак паркетный", "Parquet varnish"),
                code: "VAR",
                unit: "л",
                price: (500.0, 1400.0),
                spec_key: "gloss",
                specs: &[("глянцевый", "gloss", "GL"), ("матовый", "matt", "MT")],
                size_key: "volume_l",
                sizes: &[("1 л", "1 l", 1.0), ("2,5 л", "2.5 l", 2.5)],
            },
            Product {
                name: ("Антисептик для древесины", "Wood preservative"),
                code: "WPR",
                unit: "л",
                price: (150.0, 450.0),
                spec_key: "colour",
                specs: &[
                    ("бесцветный", "clear", "CL"),
                    ("сосна", "pine", "PN"),
                    ("палисандр", "rosewood", "RW"),
                ],
                size_key: "volume_l",
                sizes: &[("1 л", "1 l", 1.0), ("5 л", "5 l", 5.0)],
            },
        ],
    },
    Category {
        name: "Сантехника",
        supplier: "СантехКомплект",
        usage: (
            "Для водоснабжения, отопления и санузлов.",
            "For plumbing, heating and bathrooms.",
        ),
        brands: &[
            ("Grohe", "Grohe"),
            ("Hansgrohe", "Hansgrohe"),
            ("Cersanit", "Cersanit"),
            ("Rehau", "Rehau"),
            ("Valtec", "Valtec"),
            ("Сантек", "Santek"),
        ],
        products: &[
            Product {
                name: ("Смеситель для раковины", "Basin mixer"),
                code: "MIX",
                unit: "шт",
                price: (1500.0, 12000.0),
                spec_key: "finish",
                specs: &[
                    ("хром", "chrome", "CR"),
                    ("чёрный матовый", "matt black", "BK"),
                    ("бронза", "bronze", "BZ"),
                ],
                size_key: "",
                sizes: &[],
            },
            Product {
                name: ("Унитаз-компакт", "Close-coupled toilet"),
                code: "WCC",
                unit: "шт",
                price: (6000.0, 25000.0),
                spec_key: "type",
                specs: &[
                    ("с микролифтом", "soft-close seat", "SC"),
                    ("безободковый", "rimless", "RL"),
                ],
                size_key: "",
                sizes: &[],
            },
            Product {
                name: ("Труба полипропиленовая PN20", "PP-R pipe PN20"),
                code: "PPR",
                unit: "пог. м",
                price: (40.0, 250.0),
                spec_key: "reinforcement",
                specs: &[
                    (
                        "армированная стекловолокном",
                        "glass-fibre reinforced",
                        "GF",
                    ),
                    ("без армирования", "unreinforced", "UN"),
                ],
                size_key: "diameter_mm",
                sizes: &[
                    ("20 мм", "20 mm", 20.0),
                    ("25 мм", "25 mm", 25.0),
                    ("32 мм", "32 mm", 32.0),
                ],
            },
            Product {
                name: ("Труба канализационная ПВХ", "PVC sewer pipe"),
                code: "SWR",
                unit: "шт",
                price: (80.0, 600.0),
                spec_key: "use",
                specs: &[
                    ("внутренняя", "indoor", "IN"),
                    ("наружная", "outdoor", "OUT"),
                ],
                size_key: "diameter_mm",
                sizes: &[("50 мм", "50 mm", 50.0), ("110 мм", "110 mm", 110.0)],
            },
            Product {
                name: ("Радиатор биметаллический", "Bimetal radiator"),
                code: "RAD",
                unit: "шт",
                price: (4500.0, 14000.0),
                spec_key: "sections",
                specs: &[
                    ("8 секций", "8 sections", "8S"),
                    ("10 секций", "10 sections", "10S"),
                    ("12 секций", "12 sections", "12S"),
                ],
                size_key: "centre_mm",
                sizes: &[("350 мм", "350 mm", 350.0), ("500 мм", "500 mm", 500.0)],
            },
            Product {
                name: ("Кран шаровой", "Ball valve"),
                code: "BLV",
                unit: "шт",
                price: (250.0, 1800.0),
                spec_key: "thread",
                specs: &[
                    ("1/2\"", "1/2\"", "12"),
                    ("3/4\"", "3/4\"", "34"),
                    ("1\"", "1\"", "1"),
                ],
                size_key: "",
                sizes: &[],
            },
        ],
    },
    Category {
        name: "Электрика",
        supplier: "ЭлектроОпт",
        usage: (
            "Для электромонтажных работ.",
            "For electrical installation.",
        ),
        brands: &[
            ("Schneider Electric", "Schneider Electric"),
            ("Legrand", "Legrand"),
            ("IEK", "IEK"),
            ("ABB", "ABB"),
            ("Севкабель", "Sevkabel"),
            ("Werkel", "Werkel"),
        ],
        products: &[
            Product {
                name: ("Кабель ВВГнг-LS", "Power cable VVGng-LS"),
                code: "VVG",
                unit: "пог. м",
                price: (40.0, 350.0),
                spec_key: "cross_section",
                specs: &[
                    ("3×1,5", "3x1.5", "315"),
                    ("3×2,5", "3x2.5", "325"),
                    ("5×4", "5x4", "54"),
                ],
                size_key: "",
                sizes: &[],
            },
            Product {
                name: ("Провод ПВС", "Flexible wire PVS"),
                code: "PVS",
                unit: "пог. м",
                price: (30.0, 200.0),
                spec_key: "cross_section",
                specs: &[("2×0,75", "2x0.75", "2075"), ("3×1,5", "3x1.5", "315")],
                size_key: "",
                sizes: &[],
            },
            Product {
                name: ("Автоматический выключатель", "Circuit breaker"),
                code: "CBK",
                unit: "шт",
                price: (250.0, 1500.0),
                spec_key: "poles",
                specs: &[("1P", "1P", "1P"), ("2P", "2P", "2P"), ("3P", "3P", "3P")],
                size_key: "current_a",
                sizes: &[
                    ("16 А", "16 A", 16.0),
                    ("25 А", "25 A", 25.0),
                    ("32 А", "32 A", 32.0),
                ],
            },
            Product {
                name: ("Розетка с заземлением", "Grounded socket"),
                code: "SCK",
                unit: "шт",
                price: (150.0, 900.0),
                spec_key: "colour",
                specs: &[
                    ("белая", "white", "WH"),
                    ("бежевая", "beige", "BG"),
                    ("антрацит", "anthracite", "AN"),
                ],
                size_key: "",
                sizes: &[],
            },
            Product {
                name: ("Светильник светодиодный", "LED panel light"),
                code: "LED",
                unit: "шт",
                price: (400.0, 2500.0),
                spec_key: "colour_temperature",
                specs: &[("4000K", "4000K", "4K"), ("6500K", "6500K", "65K")],
                size_key: "power_w",
                sizes: &[("18 Вт", "18 W", 18.0), ("36 Вт", "36 W", 36.0)],
            },
            Product {
                name: ("Гофротруба ПВХ", "PVC corrugated conduit"),
                code: "COR",
                unit: "рул",
                price: (600.0, 1800.0),
                spec_key: "probe",
                specs: &[
                    ("с протяжкой", "with draw wire", "DW"),
                    ("без протяжки", "plain", "PL"),
                ],
                size_key: "diameter_mm",
                sizes: &[
                    ("16 мм", "16 mm", 16.0),
                    ("20 мм", "20 mm", 20.0),
                    ("25 мм", "25 mm", 25.0),
                ],
            },
        ],
    },
    Category {
        name: "Крепёж",
        supplier: "EuroFix Fasteners",
        usage: ("Для монтажа и крепления.", "For fixing and mounting."),
        brands: &[
            ("Fischer", "Fischer"),
            ("Hilti", "Hilti"),
            ("Tech-KREP", "Tech-KREP"),
            ("Sormat", "Sormat"),
            ("Mungo", "Mungo"),
        ],
        products: &[
            Product {
                name: ("Саморезы по дереву", "Wood screws"),
                code: "WSC",
                unit: "упак",
                price: (150.0, 900.0),
                spec_key: "coating",
                specs: &[
                    ("жёлтый цинк", "yellow zinc", "YZ"),
                    ("фосфатированные", "phosphated", "PH"),
                ],
                size_key: "length_mm",
                sizes: &[
                    ("3,5×25", "3.5x25", 25.0),
                    ("3,5×35", "3.5x35", 35.0),
                    ("4,2×51", "4.2x51", 51.0),
                    ("4,8×75", "4.8x75", 75.0),
                ],
            },
            Product {
                name: ("Саморезы кровельные", "Roofing screws"),
                code: "RSC",
                unit: "упак",
                price: (300.0, 1200.0),
                spec_key: "colour",
                specs: &[
                    ("RAL 3005", "RAL 3005", "3005"),
                    ("RAL 8017", "RAL 8017", "8017"),
                    ("оцинкованные", "galvanised", "ZN"),
                ],
                size_key: "length_mm",
                sizes: &[("4,8×29", "4.8x29", 29.0), ("4,8×35", "4.8x35", 35.0)],
            },
            Product {
                name: ("Дюбель-гвоздь", "Nail plug"),
                code: "DWL",
                unit: "упак",
                price: (250.0, 900.0),
                spec_key: "collar",
                specs: &[
                    ("потайной бортик", "countersunk collar", "CS"),
                    ("цилиндрический бортик", "flat collar", "FC"),
                ],
                size_key: "length_mm",
                sizes: &[
                    ("6×40", "6x40", 40.0),
                    ("6×60", "6x60", 60.0),
                    ("8×80", "8x80", 80.0),
                ],
            },
            Product {
                name: ("Анкерный болт", "Anchor bolt"),
                code: "ANC",
                unit: "шт",
                price: (20.0, 120.0),
                spec_key: "type",
                specs: &[
                    ("с гайкой", "with nut", "NT"),
                    ("с крюком", "with hook", "HK"),
                ],
                size_key: "diameter_mm",
                sizes: &[
                    ("M8", "M8", 8.0),
                    ("M10", "M10", 10.0),
                    ("M12", "M12", 12.0),
                ],
            },
            Product {
                name: ("Гвозди строительные", "Construction nails"),
                code: "NAI",
                unit: "кг",
                price: (120.0, 250.0),
                spec_key: "finish",
                specs: &[
                    ("без покрытия", "bright", "BR"),
                    ("оцинкованные", "galvanised", "ZN"),
                ],
                size_key: "length_mm",
                sizes: &[
                    ("50 мм", "50 mm", 50.0),
                    ("80 мм", "80 mm", 80.0),
                    ("100 мм", "100 mm", 100.0),
                ],
            },
            Product {
                name: ("Шпилька резьбовая", "Threaded rod"),
                code: "ROD",
                unit: "шт",
                price: (40.0, 300.0),
                spec_key: "class",
                specs: &[
                    ("класс 4.8", "class 4.8", "48"),
                    ("нержавеющая A2", "stainless A2", "A2"),
                ],
                size_key: "diameter_mm",
                sizes: &[
                    ("M8", "M8", 8.0),
                    ("M10", "M10", 10.0),
                    ("M12", "M12", 12.0),
                ],
            },
        ],
    },
];

// ---------------------------------------------------------------------------
// Assembly

/// The choices that make one record.
struct Draw {
    russian: bool,
    category: &'static Category,
    product: &'static Product,
    spec: Option<&'static Spec>,
    /// The size and its position in the product's size list.
    size: Option<(usize, &'static Size)>,
    brand: &'static Pair,
    line: Option<&'static Pair>,
    supplier: &'static str,
}

/// Record number `index` (0-based) of the catalogue for `seed`.
fn material(seed: u64, index: usize) -> Material {
    let mut rng = SplitMix(seed ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    rng.next_u64();
    let draw = draw(&mut rng);
    let name = name(&draw);
    let at = base_time();
    Material {
        id: format!("m-{:06}", index + 1),
        description: description(&mut rng, &draw, &name),
        category: draw.category.name.to_string(),
        unit: draw.product.unit.to_string(),
        price: price(&mut rng, &draw),
        supplier: draw.supplier.to_string(),
        sku: sku(&draw, index),
        attributes: attributes(&mut rng, &draw),
        name,
        created_at: at,
        updated_at: at,
    }
}

fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp(BASE_TIME_SECS, 0).unwrap_or_default()
}

fn draw(rng: &mut SplitMix) -> Draw {
    let russian = rng.chance(RUSSIAN_SHARE);
    let category = rng.pick(CATEGORIES).unwrap_or(&CATEGORIES[0]);
    let product = rng.pick(category.products).unwrap_or(&category.products[0]);
    let spec = rng.pick(product.specs);
    let size_index = rng.below(product.sizes.len().max(1));
    let size = product.sizes.get(size_index).map(|s| (size_index, s));
    let brand = rng.pick(category.brands).unwrap_or(&("", ""));
    let line = if rng.chance(LINE_SHARE) {
        rng.pick(LINES)
    } else {
        None
    };
    let supplier = if rng.chance(SPECIALIST_SHARE) {
        category.supplier
    } else {
        rng.pick(GENERAL_SUPPLIERS)
            .copied()
            .unwrap_or(category.supplier)
    };
    Draw {
        russian,
        category,
        product,
        spec,
        size,
        brand,
        line,
        supplier,
    }
}

/// Pick the text of `pair` in the record's language.
fn lang(draw: &Draw, pair: Pair) -> &'static str {
    if draw.russian {
        pair.0
    } else {
        pair.1
    }
}

/// "{product} {spec} {brand} [{line}] {size}", e.g. "Цемент М500
/// Евроцемент Профи 50 кг".
fn name(draw: &Draw) -> String {
    let parts = [
        Some(lang(draw, draw.product.name)),
        draw.spec.map(|s| lang(draw, (s.0, s.1))),
        Some(lang(draw, *draw.brand)),
        draw.line.map(|l| lang(draw, *l)),
        draw.size.map(|(_, s)| lang(draw, (s.0, s.1))),
    ];
    parts
        .into_iter()
        .flatten()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn description(rng: &mut SplitMix, draw: &Draw, name: &str) -> String {
    let templates = if draw.russian {
        DESCRIPTIONS_RU
    } else {
        DESCRIPTIONS_EN
    };
    let template = rng.pick(templates).copied().unwrap_or("{name}.");
    template
        .replace("{name}", name)
        .replace("{usage}", lang(draw, draw.category.usage))
        .replace("{supplier}", draw.supplier)
        .replace("{brand}", lang(draw, *draw.brand))
        .replace("{unit}", draw.product.unit)
}

/// A price in the product's range, larger sizes dearer, to the kopeck.
fn price(rng: &mut SplitMix, draw: &Draw) -> f64 {
    let (lo, hi) = draw.product.price;
    let size_factor = 1.0 + 0.35 * draw.size.map_or(0, |(i, _)| i) as f64;
    let p = (lo + (hi - lo) * rng.unit()) * size_factor;
    (p * 100.0).round() / 100.0
}

/// "CEM-M500-50-000017": product, spec, size, then the record number, which
/// keeps skus unique.
fn sku(draw: &Draw, index: usize) -> String {
    let mut sku = draw.product.code.to_string();
    if let Some(spec) = draw.spec {
        sku.push('-');
        sku.push_str(spec.2);
    }
    if let Some((_, size)) = draw.size {
        sku.push('-');
        sku.push_str(&size.2.to_string().replace('.', ""));
    }
    format!("{sku}-{:06}", index + 1)
}

/// brand, product line, the spec and size under their keys (English values, so filters
/// work across languages), and sometimes a stock flag.
fn attributes(rng: &mut SplitMix, draw: &Draw) -> Map<String, Value> {
    let mut attrs = Map::new();
    attrs.insert("brand".into(), Value::from(draw.brand.1));
    if let Some(line) = draw.line {
        attrs.insert("line".into(), Value::from(line.1));
    }
    if let Some(spec) = draw.spec {
        attrs.insert(draw.product.spec_key.into(), Value::from(spec.1));
    }
    if let Some((_, size)) = draw.size {
        attrs.insert(draw.product.size_key.into(), Value::from(size.2));
    }
    if rng.chance(STOCK_SHARE) {
        attrs.insert("in_stock".into(), Value::from(rng.chance(0.8)));
    }
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn deterministic_and_prefix_stable() {
        let a: Vec<Material> = generate(500, 42).collect();
        let b: Vec<Material> = generate(500, 42).collect();
        assert_eq!(a, b);
        let short: Vec<Material> = generate(100, 42).collect();
        assert_eq!(short[..], a[..100]);
        let other: Vec<Material> = generate(500, 43).collect();
        assert_ne!(a, other);
        assert_eq!(a[0].id, "m-000001");
        assert_eq!(a[499].id, "m-000500");
    }

    #[test]
    fn ids_and_skus_unique_and_names_varied() {
        let all: Vec<Material> = generate(20_000, 7).collect();
        let ids: HashSet<&str> = all.iter().map(|m| m.id.as_str()).collect();
        let skus: HashSet<&str> = all.iter().map(|m| m.sku.as_str()).collect();
        let names: HashSet<&str> = all.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(ids.len(), all.len());
        assert_eq!(skus.len(), all.len());
        assert!(names.len() > 8_000, "only {} names", names.len());
        let suppliers: HashSet<&str> = all.iter().map(|m| m.supplier.as_str()).collect();
        assert_eq!(suppliers.len(), GENERAL_SUPPLIERS.len() + CATEGORIES.len());
        let russian = all
            .iter()
            .filter(|m| {
                m.name
                    .chars()
                    .any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
            })
            .count();
        let share = russian as f64 / all.len() as f64;
        assert!((0.65..0.75).contains(&share), "Russian share {share}");
    }

    #[test]
    fn every_record_validates() {
        let now = Utc::now();
        for m in generate(5_000, 1) {
            let back =
                Material::from_json(&m.to_json(), now).unwrap_or_else(|e| panic!("{}: {e}", m.id));
            assert_eq!(back.name, m.name);
            assert_eq!(back.price, m.price);
            assert_eq!(back.attributes, m.attributes);
            assert!(m.price > 0.0);
            assert!(m.sku.is_ascii());
            assert!(!m.description.contains('{'), "{}", m.description);
            assert_eq!(m.created_at, base_time());
        }
    }

    #[test]
    fn categories_spread() {
        let n = 12_000;
        let mut counts: HashMap<String, usize> = HashMap::new();
        for m in generate(n, 99) {
            *counts.entry(m.category).or_default() += 1;
        }
        assert_eq!(counts.len(), CATEGORIES.len());
        let fair = n / CATEGORIES.len();
        for (category, count) in counts {
            assert!(count > fair / 2 && count < fair * 2, "{category}: {count}");
        }
    }

    #[test]
    fn units_are_realistic() {
        let known = [
            "шт",
            "м²",
            "м³",
            "кг",
            "т",
            "меш",
            "рул",
            "л",
            "пог. м",
            "упак",
        ];
        let mut codes = HashSet::new();
        for c in CATEGORIES {
            for p in c.products {
                assert!(codes.insert(p.code), "duplicate product code {}", p.code);
                assert!(known.contains(&p.unit), "{}", p.unit);
                assert!(p.price.0 > 0.0 && p.price.0 < p.price.1);
                assert!(p.code.bytes().all(|b| b.is_ascii_uppercase()));
                assert!(p.sizes.is_empty() == p.size_key.is_empty());
            }
        }
    }
}
