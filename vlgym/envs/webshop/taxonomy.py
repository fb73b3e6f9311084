"""The product types of the synthetic catalogue: our own data, shaped like the original's five categories.

Each type fixes what the original's scraped records share within one Amazon search: the scraping ``query``,
the ``product_category`` breadcrumb (siblings share its top levels, so the reward's category rule behaves
as on real data), the head nouns of titles, an attribute vocabulary of WebShop-style phrases, option
groups, a price range, and the silhouette of the product's picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

APPAREL_COLORS = ("black", "white", "navy blue", "grey", "red", "pink", "beige", "green", "light blue",
                  "burgundy", "khaki", "purple")
APPAREL_SIZES = ("x-small", "small", "medium", "large", "x-large", "xx-large")
SHOE_SIZES = ("6", "6.5", "7", "7.5", "8", "8.5", "9", "9.5", "10", "11", "12")
MAKEUP_COLORS = ("nude", "coral", "red", "pink", "plum", "mauve", "burgundy", "rose gold")
DEVICE_COLORS = ("black", "white", "silver", "navy blue", "red", "rose gold", "green")
WOOD_COLORS = ("walnut", "natural oak", "espresso", "white", "black", "grey")
FABRIC_COLORS = ("grey", "beige", "navy blue", "green", "charcoal", "cream", "mint green", "light pink")
PACKS = ("pack of 1", "pack of 2", "pack of 3", "pack of 4", "pack of 6", "pack of 12")
BED_SIZES = ("twin", "full", "queen", "king", "california king")


@dataclass(frozen=True)
class ProductType:
    query: str
    category: str
    breadcrumb: str
    nouns: tuple[str, ...]
    descriptors: tuple[str, ...]
    attributes: tuple[str, ...]
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    price: tuple[float, float] = (10.0, 50.0)
    shape: str = "box"


_FASHION = "Clothing, Shoes & Jewelry"
_BEAUTY = "Beauty & Personal Care"
_ELECTRONICS = "Electronics"
_HOME = "Home & Kitchen › Furniture"
_FOOD = "Grocery & Gourmet Food"

TYPES: tuple[ProductType, ...] = (
    # ----------------------------------------------------------------------------------------- fashion
    ProductType("women's running shoes", "fashion", f"{_FASHION} › Women › Shoes › Athletic › Running",
                ("running shoes", "walking sneakers", "road running shoes"),
                ("lightweight", "breathable", "cushioned", "casual", "athletic"),
                ("non slip", "rubber sole", "memory foam", "arch support", "lace up", "mesh upper", "wide width"),
                {"color": APPAREL_COLORS, "size": SHOE_SIZES}, (25.0, 95.0), "shoe"),
    ProductType("men's hiking boots", "fashion", f"{_FASHION} › Men › Shoes › Outdoor › Hiking Boots",
                ("hiking boots", "trekking boots", "work boots"),
                ("rugged", "durable", "all terrain", "high top", "outdoor"),
                ("waterproof", "rubber sole", "steel toe", "anti slip", "ankle support", "leather upper"),
                {"color": ("black", "brown", "khaki", "grey", "olive green"), "size": SHOE_SIZES}, (40.0, 160.0),
                "boot"),
    ProductType("men's t-shirts", "fashion", f"{_FASHION} › Men › Clothing › Shirts › T-Shirts",
                ("crew neck t-shirt", "cotton tee shirt", "graphic t-shirt"),
                ("classic", "soft", "everyday", "relaxed fit", "vintage"),
                ("machine wash", "short sleeve", "cotton blend", "moisture wicking", "regular fit", "tagless"),
                {"color": APPAREL_COLORS, "size": APPAREL_SIZES}, (9.0, 35.0), "shirt"),
    ProductType("women's summer dresses", "fashion", f"{_FASHION} › Women › Clothing › Dresses › Casual",
                ("midi dress", "sundress", "maxi dress", "swing dress"),
                ("floral", "elegant", "flowy", "boho", "casual"),
                ("hand wash", "v neck", "short sleeve", "elastic waist", "polyester spandex", "button closure"),
                {"color": APPAREL_COLORS, "size": APPAREL_SIZES}, (18.0, 60.0), "dress"),
    ProductType("women's yoga pants", "fashion", f"{_FASHION} › Women › Clothing › Active › Leggings",
                ("yoga pants", "workout leggings", "jogger pants"),
                ("stretchy", "soft", "high waisted", "slim", "athletic"),
                ("tummy control", "machine wash", "moisture wicking", "butt lifting", "pockets", "quick drying"),
                {"color": APPAREL_COLORS, "size": APPAREL_SIZES}, (15.0, 45.0), "pants"),
    ProductType("men's winter jackets", "fashion", f"{_FASHION} › Men › Clothing › Jackets & Coats",
                ("puffer jacket", "winter coat", "hooded parka"),
                ("warm", "insulated", "lightweight", "quilted", "thick"),
                ("water resistant", "zipper closure", "detachable hood", "fleece lined", "windproof", "long sleeve"),
                {"color": ("black", "navy blue", "grey", "khaki", "olive green", "red"), "size": APPAREL_SIZES},
                (45.0, 180.0), "jacket"),
    # ------------------------------------------------------------------------------------------ makeup
    ProductType("matte liquid lipstick", "makeup", f"{_BEAUTY} › Makeup › Lips › Lipstick",
                ("liquid lipstick", "lip stain", "lip color"),
                ("matte", "velvet", "creamy", "bold", "pigmented"),
                ("long lasting", "cruelty free", "paraben free", "waterproof", "vegan", "highly pigmented"),
                {"color": MAKEUP_COLORS}, (6.0, 28.0), "lipstick"),
    ProductType("nail polish set", "makeup", f"{_BEAUTY} › Makeup › Nails › Nail Polish",
                ("nail polish set", "gel nail polish", "nail lacquer kit"),
                ("glossy", "quick dry", "salon", "shimmer", "classic"),
                ("non toxic", "long lasting", "easy to apply", "chip resistant", "cruelty free", "travel size"),
                {"color": MAKEUP_COLORS, "size": ("6 count", "12 count", "24 count")}, (8.0, 35.0), "bottle"),
    ProductType("foundation makeup", "makeup", f"{_BEAUTY} › Makeup › Face › Foundation",
                ("liquid foundation", "cushion foundation", "foundation cream"),
                ("lightweight", "full coverage", "natural finish", "dewy", "oil control"),
                ("long lasting", "fragrance free", "hyaluronic acid", "dermatologist tested", "spf 30",
                 "sensitive skin"),
                {"color": ("ivory", "beige", "nude", "sand", "caramel", "espresso"),
                 "size": ("1 fl oz", "1.7 fl oz")}, (9.0, 48.0), "bottle"),
    ProductType("makeup brush set", "makeup", f"{_BEAUTY} › Tools & Accessories › Makeup Brushes",
                ("makeup brush set", "foundation brush kit", "eyeshadow brushes"),
                ("professional", "soft", "premium", "dense", "travel"),
                ("synthetic bristles", "easy to clean", "cruelty free", "wooden handle", "storage case",
                 "high quality"),
                {"color": ("black", "pink", "rose gold", "white", "purple"),
                 "size": ("10 pieces", "14 pieces", "18 pieces")}, (7.0, 40.0), "brush"),
    ProductType("eye shadow palette", "makeup", f"{_BEAUTY} › Makeup › Eyes › Eyeshadow",
                ("eyeshadow palette", "eye shadow kit", "glitter palette"),
                ("shimmer", "matte", "neutral", "smoky", "bright"),
                ("highly pigmented", "long lasting", "easy to blend", "cruelty free", "talc free", "mirror"),
                {"color": ("nude", "rose gold", "plum", "coral", "burgundy")}, (8.0, 42.0), "palette"),
    ProductType("hair dryer", "makeup", f"{_BEAUTY} › Hair Care › Styling Tools › Hair Dryers",
                ("hair dryer", "blow dryer", "ionic hair dryer"),
                ("fast drying", "lightweight", "compact", "salon", "quiet"),
                ("ionic technology", "diffuser attachment", "cool shot", "foldable handle", "ceramic",
                 "low noise"),
                {"color": ("black", "white", "pink", "rose gold", "purple")}, (19.0, 110.0), "dryer"),
    # ------------------------------------------------------------------------------------- electronics
    ProductType("wireless earbuds", "electronics", f"{_ELECTRONICS} › Headphones › Earbud Headphones",
                ("wireless earbuds", "bluetooth earphones", "in ear headphones"),
                ("true wireless", "sport", "compact", "stereo", "premium"),
                ("noise cancelling", "bluetooth 5.3", "charging case", "water resistant", "built in microphone",
                 "touch control"),
                {"color": DEVICE_COLORS}, (15.0, 130.0), "earbuds"),
    ProductType("over ear headphones", "electronics", f"{_ELECTRONICS} › Headphones › Over-Ear Headphones",
                ("over ear headphones", "wireless headset", "studio headphones"),
                ("foldable", "hi-fi", "deep bass", "comfortable", "professional"),
                ("noise cancelling", "memory foam", "long battery life", "wired and wireless", "fast charging",
                 "built in microphone"),
                {"color": DEVICE_COLORS}, (25.0, 220.0), "headphones"),
    ProductType("phone case", "electronics", f"{_ELECTRONICS} › Cell Phones & Accessories › Cases",
                ("phone case", "protective cover", "slim case"),
                ("slim", "shockproof", "clear", "rugged", "matte"),
                ("wireless charging compatible", "drop protection", "raised edges", "scratch resistant",
                 "kickstand", "camera protection"),
                {"color": DEVICE_COLORS, "size": ("6.1 inch", "6.7 inch", "6.9 inch")}, (6.0, 30.0), "phone"),
    ProductType("portable bluetooth speaker", "electronics", f"{_ELECTRONICS} › Portable Audio › Speakers",
                ("bluetooth speaker", "portable speaker", "outdoor speaker"),
                ("loud", "compact", "rugged", "stereo", "mini"),
                ("waterproof", "long battery life", "usb c", "deep bass", "hands free calling", "easy to carry"),
                {"color": DEVICE_COLORS}, (18.0, 150.0), "speaker"),
    ProductType("usb c charger", "electronics", f"{_ELECTRONICS} › Accessories › Chargers & Adapters",
                ("usb c charger", "wall charger", "charging block"),
                ("fast", "compact", "foldable", "dual port", "travel"),
                ("fast charging", "power delivery", "gan technology", "overheat protection", "usb c",
                 "high speed"),
                {"color": ("black", "white"), "size": ("20w", "35w", "65w", "100w")}, (9.0, 60.0), "charger"),
    ProductType("computer mouse", "electronics", f"{_ELECTRONICS} › Computers & Accessories › Mice",
                ("wireless mouse", "ergonomic mouse", "gaming mouse"),
                ("silent", "ergonomic", "slim", "rechargeable", "precise"),
                ("usb receiver", "adjustable dpi", "rgb lighting", "long battery life", "plug and play",
                 "easy to use"),
                {"color": ("black", "white", "grey", "pink", "navy blue")}, (8.0, 70.0), "mouse"),
    # --------------------------------------------------------------------------------------- furniture
    ProductType("office chair", "furniture", f"{_HOME} › Home Office Furniture › Chairs",
                ("office chair", "desk chair", "task chair"),
                ("ergonomic", "adjustable", "swivel", "mid back", "executive"),
                ("lumbar support", "breathable mesh", "height adjustable", "easy assembly", "padded armrests",
                 "heavy duty"),
                {"color": ("black", "grey", "white", "navy blue", "pink")}, (60.0, 320.0), "chair"),
    ProductType("coffee table", "furniture", f"{_HOME} › Living Room Furniture › Tables",
                ("coffee table", "center table", "cocktail table"),
                ("modern", "rustic", "round", "industrial", "minimalist"),
                ("storage shelf", "easy assembly", "solid wood", "metal frame", "lift top", "engineered wood"),
                {"color": WOOD_COLORS}, (50.0, 260.0), "table"),
    ProductType("upholstered sofa", "furniture", f"{_HOME} › Living Room Furniture › Sofas & Couches",
                ("sofa couch", "loveseat", "sectional sofa"),
                ("modern", "mid century", "tufted", "compact", "deep seat"),
                ("velvet fabric", "solid wood", "easy assembly", "removable cushions", "high density foam",
                 "living room"),
                {"color": FABRIC_COLORS, "size": ("loveseat", "3 seat", "4 seat")}, (180.0, 950.0), "sofa"),
    ProductType("bookshelf", "furniture", f"{_HOME} › Home Office Furniture › Bookcases",
                ("bookshelf", "bookcase", "display shelf"),
                ("tall", "ladder", "industrial", "open", "narrow"),
                ("5 tier", "easy assembly", "metal frame", "engineered wood", "anti tip", "living room"),
                {"color": WOOD_COLORS}, (35.0, 210.0), "shelf"),
    ProductType("bed frame", "furniture", f"{_HOME} › Bedroom Furniture › Beds & Frames",
                ("bed frame", "platform bed", "upholstered bed"),
                ("sturdy", "low profile", "modern", "classic", "heavy duty"),
                ("no box spring needed", "under bed storage", "wooden slats", "easy assembly", "headboard",
                 "noise free"),
                {"color": ("black", "grey", "white", "walnut", "beige"), "size": BED_SIZES}, (90.0, 600.0), "bed"),
    ProductType("table lamp", "furniture", f"{_HOME} › Lighting › Table Lamps",
                ("table lamp", "bedside lamp", "desk lamp"),
                ("modern", "minimalist", "dimmable", "vintage", "small"),
                ("usb port", "touch control", "fabric shade", "led bulb", "living room", "bedroom"),
                {"color": ("black", "white", "gold", "silver", "grey", "beige")}, (15.0, 90.0), "lamp"),
    # -------------------------------------------------------------------------------------------- food
    ProductType("dark chocolate bar", "food", f"{_FOOD} › Snacks & Sweets › Chocolate › Bars",
                ("chocolate bar", "dark chocolate", "chocolate squares"),
                ("rich", "organic", "smooth", "artisan", "premium"),
                ("gluten free", "non gmo", "fair trade", "low sugar", "vegan", "keto friendly"),
                {"flavor": ("sea salt", "almond", "orange", "mint", "raspberry", "coffee"), "size": PACKS},
                (4.0, 36.0), "bar"),
    ProductType("ground coffee", "food", f"{_FOOD} › Beverages › Coffee › Ground Coffee",
                ("ground coffee", "coffee beans", "whole bean coffee"),
                ("medium roast", "dark roast", "smooth", "bold", "single origin"),
                ("usda organic", "fair trade", "non gmo", "low acid", "kosher", "freshly roasted"),
                {"flavor": ("original", "vanilla", "hazelnut", "caramel", "french roast"),
                 "size": ("12 ounce", "2 pound", "pack of 2", "pack of 4")}, (7.0, 45.0), "bag"),
    ProductType("protein bars", "food", f"{_FOOD} › Snacks & Sweets › Bars › Protein Bars",
                ("protein bars", "snack bars", "energy bars"),
                ("chewy", "crunchy", "high protein", "healthy", "soft baked"),
                ("gluten free", "low sugar", "non gmo", "keto friendly", "high protein", "plant based"),
                {"flavor": ("chocolate chip", "peanut butter", "cookie dough", "almond", "lemon"), "size": PACKS},
                (9.0, 40.0), "box"),
    ProductType("herbal tea", "food", f"{_FOOD} › Beverages › Tea › Herbal",
                ("herbal tea", "tea bags", "loose leaf tea"),
                ("calming", "organic", "caffeine free", "soothing", "refreshing"),
                ("usda organic", "caffeine free", "non gmo", "gluten free", "individually wrapped", "kosher"),
                {"flavor": ("chamomile", "rooibos", "ginger", "hibiscus", "lemon"),
                 "size": ("20 count", "40 count", "100 count")}, (4.0, 28.0), "box"),
    ProductType("olive oil", "food", f"{_FOOD} › Pantry Staples › Oils › Olive Oil",
                ("olive oil", "extra virgin olive oil", "cooking oil"),
                ("cold pressed", "premium", "imported", "first harvest", "robust"),
                ("non gmo", "gluten free", "kosher", "usda organic", "glass bottle", "high polyphenol"),
                {"size": ("16.9 fl oz", "25.3 fl oz", "33.8 fl oz", "pack of 2")}, (8.0, 55.0), "bottle"),
    ProductType("mixed nuts", "food", f"{_FOOD} › Snacks & Sweets › Nuts & Seeds › Mixed Nuts",
                ("mixed nuts", "trail mix", "roasted nuts"),
                ("roasted", "salted", "unsalted", "deluxe", "crunchy"),
                ("gluten free", "non gmo", "resealable bag", "high protein", "kosher", "keto friendly"),
                {"flavor": ("honey roasted", "sea salt", "unsalted", "smoked"),
                 "size": ("1 pound", "2 pound", "pack of 6")}, (6.0, 38.0), "bag"),
)

CATEGORIES: tuple[str, ...] = ("fashion", "makeup", "electronics", "furniture", "food")
TYPE_BY_QUERY: dict[str, ProductType] = {t.query: t for t in TYPES}
