"""Word pools for the sample generator: the values the real IMDb and Kaggle files carry.

Kept apart from the generator so the shapes of the data (which titleType, genre, category values
exist; which scripts appear) can be read and reviewed in one place.
"""

from __future__ import annotations

# title.basics titleType values, with shares close to the real dump (tvEpisode ~77% of titles is
# what makes title.episode 9.5M rows against 12.3M titles).
TITLE_TYPES: tuple[tuple[str, float], ...] = (
    ("tvEpisode", 0.772),
    ("short", 0.072),
    ("movie", 0.072),
    ("video", 0.030),
    ("tvSeries", 0.024),
    ("tvMovie", 0.011),
    ("tvMiniSeries", 0.007),
    ("tvSpecial", 0.005),
    ("videoGame", 0.004),
    ("tvShort", 0.002),
    ("tvPilot", 0.001),
)

GENRES: tuple[str, ...] = (
    "Action", "Adult", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary",
    "Drama", "Family", "Fantasy", "Film-Noir", "Game-Show", "History", "Horror", "Music", "Musical",
    "Mystery", "News", "Reality-TV", "Romance", "Sci-Fi", "Short", "Sport", "Talk-Show", "Thriller",
    "War", "Western",
)
# Relative popularity, same order as GENRES (Drama, Comedy, Documentary dominate the real dump).
GENRE_WEIGHTS: tuple[float, ...] = (
    6, 1, 4, 4, 2, 12, 5, 9, 16, 4, 3, 0.3, 1.5, 2, 4, 3, 1, 3, 2, 2.5, 6, 2, 5, 2, 1.5, 4, 1, 1,
)

ADJECTIVES: tuple[str, ...] = (
    "Dark", "Silent", "Last", "Broken", "Golden", "Hidden", "Lost", "Wild", "Crimson", "Eternal",
    "Secret", "Final", "Burning", "Frozen", "Little", "Great", "Strange", "Midnight", "Electric",
    "Savage", "Quiet", "Endless", "Bitter", "Hollow", "Brave", "Lonely", "Distant", "Fallen",
)
NOUNS: tuple[str, ...] = (
    "River", "City", "Night", "Heart", "Road", "Storm", "Garden", "Shadow", "Kingdom", "Promise",
    "Summer", "Winter", "Mirror", "Island", "Station", "Letter", "Dream", "Harbor", "Empire",
    "Frontier", "Circus", "Voyage", "Witness", "Stranger", "Horizon", "Orchard", "Signal", "Machine",
)
GIVEN_NAMES_EN: tuple[str, ...] = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra",
)
SURNAMES_EN: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark",
    "O'Brien", "O'Connor", "D'Angelo", "McAllister", "Van der Berg", "St. James", "Lewis", "Walker",
)

# Non-English titles by language: (language code, akas region, titles). Real-looking titles in their
# own scripts so the sample exercises UTF-8 end to end.
FOREIGN_TITLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ja", "JP", ("東京物語", "七人の侍", "千と千尋の神隠し", "羅生門", "となりのトトロ", "雨月物語",
                  "火垂るの墓", "用心棒")),
    ("ru", "RU", ("Война и мир", "Сталкер", "Иди и смотри", "Левиафан", "Солярис", "Зеркало",
                  "Летят журавли", "Ирония судьбы")),
    ("ar", "EG", ("الرسالة", "باب الحديد", "عمر المختار", "وجدة", "ذيب", "الكيت كات")),
    ("el", "GR", ("Ο Θίασος", "Το βλέμμα του Οδυσσέα", "Κυνόδοντας", "Ποτέ την Κυριακή",
                  "Μια αιωνιότητα και μια μέρα")),
    ("hi", "IN", ("शोले", "मदर इंडिया", "लगान", "प्यासा", "दंगल", "आवारा", "मुग़ल-ए-आज़म")),
    ("fr", "FR", ("L'Été dernier", "À bout de souffle", "Les Misérables", "La Haine",
                  "Jeux interdits", "Où est la maison de mon ami?")),
    ("de", "DE", ("Der Himmel über Berlin", "Das Boot", "Lola rennt", "Die Blechtrommel",
                  "M – Eine Stadt sucht einen Mörder")),
    ("es", "ES", ("El laberinto del fauno", "Año bisiesto", "Niñas mal", "Mujeres al borde")),
    ("ko", "KR", ("기생충", "올드보이", "살인의 추억", "괴물")),
    ("zh", "CN", ("卧虎藏龙", "霸王别姬", "花样年华")),
)

# Names by culture: (given names, surnames). Several scripts on purpose.
NAME_POOLS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (GIVEN_NAMES_EN, SURNAMES_EN),
    (("Jean-Luc", "Amélie", "François", "Hélène", "Chloé", "Loïc"),
     ("Lefèvre", "Béart", "Dupont", "Giraud", "Léaud", "Moreau")),
    (("Jürgen", "Björn", "Käthe", "Günter"), ("Müller", "Schröder", "Weiß", "Groß")),
    (("José", "Begoña", "Íñigo", "María"), ("Núñez", "García", "Peña", "Iñárritu")),
    (("太郎", "花子", "健", "由美", "明"), ("山田", "佐藤", "黒澤", "宮崎", "小津")),
    (("Иван", "Анна", "Сергей", "Ольга", "Андрей"), ("Петров", "Иванова", "Смирнов", "Волкова")),
    (("محمد", "فاطمة", "أحمد", "يوسف"), ("علي", "حسن", "الشريف", "شاهين")),
    (("Γιώργος", "Μαρία", "Νίκος", "Ελένη"), ("Παπαδόπουλος", "Αγγελοπούλου", "Οικονόμου")),
    (("अमित", "ऐश्वर्या", "राज", "प्रिया"), ("बच्चन", "कपूर", "खान", "शर्मा")),
)
NAME_POOL_WEIGHTS: tuple[float, ...] = (0.64, 0.06, 0.05, 0.06, 0.04, 0.05, 0.03, 0.03, 0.04)
NICKNAMES: tuple[str, ...] = ("The Rock", "Doc", "Red", "Kid", "Boss")

PROFESSIONS: tuple[str, ...] = (
    "actor", "actress", "director", "writer", "producer", "composer", "cinematographer", "editor",
    "miscellaneous", "camera_department", "sound_department", "art_department", "make_up_department",
    "visual_effects", "stunts", "music_department", "soundtrack", "casting_director",
    "production_manager", "assistant_director", "editorial_department", "animation_department",
    "costume_designer", "self", "archive_footage",
)

# title.principals categories and shares; job and characters depend on the category.
CATEGORIES: tuple[tuple[str, float], ...] = (
    ("actor", 0.28), ("actress", 0.20), ("self", 0.13), ("director", 0.08), ("writer", 0.10),
    ("producer", 0.08), ("composer", 0.04), ("cinematographer", 0.03), ("editor", 0.03),
    ("production_designer", 0.01), ("casting_director", 0.01), ("archive_footage", 0.007),
    ("archive_sound", 0.003),
)
WRITER_JOBS: tuple[str, ...] = (
    "screenplay", "novel", "story", "written by", "teleplay", "based on characters created by",
    "screenplay by", "play \"The Lodger\"",
)
PRODUCER_JOBS: tuple[str, ...] = ("producer", "executive producer", "co-producer", "line producer")
CHARACTERS: tuple[str, ...] = (
    '["Self"]', '["Self - Host"]', '["Narrator"]', '["Self","Narrator"]', '["John Smith"]',
    '["Detective Ray Walker"]', '["Mother"]', '["Himself"]', '["Herself"]', '["Guest"]',
    '["Dr. \\"Doc\\" Brown"]', '["Anna Karenina","Narrator"]', '["Иван Петров"]', '["花子"]',
    '["Lt. O\'Neil"]', '["Various"]', '["Policeman #2"]', '["The Stranger","Voice"]',
)

AKAS_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "ES", "IT", "CA", "AU", "BR", "MX", "XWW",
                                 "IN", "JP", "RU", "GR", "EG", "KR", "CN", "PT", "SE", "XEU")
AKAS_TYPES: tuple[str, ...] = (
    r"\N", r"\N", r"\N", "imdbDisplay", "imdbDisplay", "working", "alternative", "festival", "dvd",
    "tv", "video", "alternative\x02tv", "imdbDisplay\x02working",
)
AKAS_ATTRIBUTES: tuple[str, ...] = (
    "literal English title", "new title", "short title", "complete title", "informal title",
    "literal title\x02informal English title", "reissue title", "alternative spelling",
    "transliterated title", "new title\x02literal title",
)

# Kaggle "IMDB 5000" values.
KAGGLE_CONTENT_RATINGS: tuple[tuple[str, float], ...] = (
    ("R", 0.42), ("PG-13", 0.28), ("PG", 0.14), ("Not Rated", 0.025), ("G", 0.022),
    ("Unrated", 0.012), ("Approved", 0.011), ("TV-14", 0.006), ("TV-MA", 0.004), ("NC-17", 0.003),
    ("X", 0.003), ("TV-PG", 0.003), ("Passed", 0.002), ("M", 0.001), ("GP", 0.001),
)
KAGGLE_COUNTRIES: tuple[tuple[str, str, float], ...] = (
    # (country, language, share)
    ("USA", "English", 0.76), ("UK", "English", 0.09), ("France", "French", 0.03),
    ("Canada", "English", 0.025), ("Germany", "German", 0.02), ("Australia", "English", 0.01),
    ("India", "Hindi", 0.007), ("Spain", "Spanish", 0.007), ("China", "Mandarin", 0.006),
    ("Japan", "Japanese", 0.005), ("Italy", "Italian", 0.005), ("Hong Kong", "Cantonese", 0.004),
    ("South Korea", "Korean", 0.003), ("Mexico", "Spanish", 0.003), ("New Zealand", "English", 0.003),
)
KAGGLE_ASPECT_RATIOS: tuple[str, ...] = ("2.35", "1.85", "1.85", "2.35", "1.78", "2.39", "1.33",
                                         "2.2", "1.66", "16", "4", "2.4")
KAGGLE_KEYWORDS: tuple[str, ...] = (
    "avatar", "future", "marine", "native", "paraplegic", "love", "friend", "murder", "police",
    "death", "new york city", "high school", "revenge", "alien", "prison", "escape", "sequel",
    "based on novel", "spy", "wedding", "robot", "vampire", "heist", "island", "war",
)
