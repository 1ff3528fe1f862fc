"""Names in the demo: centres and schools, the children's countries, languages and names, guardians.

Each name is (Latin spelling, original script); the original is stored exactly as written
here (Persian and Urdu letters where they differ from Arabic, zero-width non-joiners kept).
An empty original means the name is usually written in Latin script.
"""
from __future__ import annotations

ZWNJ = "\u200c"

# code, name, kind, municipality, share of the children placed there first
CENTRES = [
    ("KRN", "Centar za azil Krnjača", "asylum", "Palilula", 24),
    ("BOG", "Centar za azil Bogovađa", "asylum", "Lajkovac", 11),
    ("TUT", "Centar za azil Tutin", "asylum", "Tutin", 12),
    ("ADA", "Prihvatno-tranzitni centar Adaševci", "reception", "Šid", 18),
    ("PRI", "Prihvatno-tranzitni centar Principovac", "reception", "Šid", 14),
    ("SUB", "Prihvatno-tranzitni centar Subotica", "reception", "Subotica", 21),
]
SOCIAL_WORK = {
    "Palilula": "Gradski centar za socijalni rad Beograd, odeljenje Palilula",
    "Lajkovac": "Centar za socijalni rad Lajkovac",
    "Tutin": "Centar za socijalni rad Tutin",
    "Šid": "Centar za socijalni rad Šid",
    "Subotica": "Centar za socijalni rad Subotica",
}
P, S = (True, False), (False, True)  # offers primary, offers secondary
# Ministry code, name, municipality, (offers primary, offers secondary). The first primary
# school of a municipality is the one nearest the centre: most of its children go there.
SCHOOLS = [
    ("7010101", "OŠ Zaga Malivuk", "Palilula", P),
    ("7010102", "OŠ Ivan Milutinović", "Palilula", P),
    ("7010103", "OŠ Olga Petrov", "Palilula", P),
    ("7010104", "OŠ Jovan Jovanović Zmaj", "Palilula", P),
    ("7010105", "OŠ Vuk Karadžić", "Palilula", P),
    ("7010106", "OŠ Đura Jakšić", "Palilula", P),
    ("7010107", "Gimnazija Stevan Sremac", "Palilula", S),
    ("7010108", "Srednja tehnička škola Nikola Tesla", "Palilula", S),
    ("7020201", "OŠ Dimitrije Tucović", "Lajkovac", P),
    ("7020202", "OŠ Sveti Sava", "Lajkovac", P),
    ("7020203", "OŠ Kosta Abrašević", "Lajkovac", P),
    ("7020204", "Srednja tehnička škola Lajkovac", "Lajkovac", S),
    ("7030301", "OŠ Rifat Burdžović Tršo", "Tutin", P),
    ("7030302", "OŠ Vuk Karadžić", "Tutin", P),
    ("7030303", "OŠ Bratstvo", "Tutin", P),
    ("7030304", "Gimnazija Tutin", "Tutin", S),
    ("7030305", "Srednja tehnička škola Tutin", "Tutin", S),
    ("7040401", "OŠ Sremski front", "Šid", P),
    ("7040402", "OŠ Branko Radičević", "Šid", P),
    ("7040403", "OŠ Jovan Popović", "Šid", P),
    ("7040404", "OŠ Desanka Maksimović", "Šid", P),
    ("7040405", "Gimnazija Sava Šumanović", "Šid", S),
    ("7040406", "Srednja tehnička škola Šid", "Šid", S),
    ("7050501", "OŠ Ivan Goran Kovačić", "Subotica", P),
    ("7050502", "OŠ Jovan Mikić", "Subotica", P),
    ("7050503", "OŠ Sveti Sava", "Subotica", P),
    ("7050504", "OŠ Majšanski put", "Subotica", P),
    ("7050505", "OŠ Matko Vuković", "Subotica", P),
    ("7050506", "Gimnazija Svetozar Marković", "Subotica", S),
    ("7050507", "Srednja tehnička škola Ivan Sarić", "Subotica", S),
]


PERSIAN = {
    "male": [
        ("Ahmad", "احمد"), ("Mohammad", "محمد"), ("Ali", "علی"), ("Hassan", "حسن"), ("Hussain", "حسین"),
        ("Mustafa", "مصطفی"), ("Omid", "امید"), ("Jawad", "جواد"), ("Reza", "رضا"), ("Samiullah", f"سمیع{ZWNJ}الله"),
        ("Abdullah", "عبدالله"), ("Farid", "فرید"), ("Hamid", "حمید"), ("Nasir", "ناصر"),
        ("Rahmatullah", f"رحمت{ZWNJ}الله"), ("Sohrab", "سهراب"), ("Bilal", "بلال"), ("Idris", "ادریس"),
        ("Murtaza", "مرتضی"), ("Zabihullah", f"ذبیح{ZWNJ}الله"), ("Wahid", "وحید"), ("Jamshid", "جمشید"),
        ("Karim", "کریم"), ("Naveed", "نوید"), ("Shafiq", "شفیق"), ("Mahdi", "مهدی"), ("Arash", "آرش"),
    ],
    "female": [
        ("Zahra", "زهرا"), ("Fatima", "فاطمه"), ("Maryam", "مریم"), ("Sakina", "سکینه"), ("Mahsa", "مهسا"),
        ("Nargis", "نرگس"), ("Parwana", "پروانه"), ("Shabnam", "شبنم"), ("Freshta", "فرشته"), ("Madina", "مدینه"),
        ("Sumaya", "سمیه"), ("Laila", "لیلا"), ("Farzana", "فرزانه"), ("Tahmina", "تهمینه"), ("Roya", "رویا"),
        ("Marwa", "مروه"), ("Setara", "ستاره"), ("Nilofar", "نیلوفر"), ("Masuma", "معصومه"), ("Yalda", "یلدا"),
    ],
}

AFGHAN_FAMILY = [
    ("Ahmadi", "احمدی"), ("Rahimi", "رحیمی"), ("Hosseini", "حسینی"), ("Mohammadi", "محمدی"), ("Karimi", "کریمی"),
    ("Sultani", "سلطانی"), ("Noori", "نوری"), ("Haidari", "حیدری"), ("Rezaei", "رضایی"), ("Jafari", "جعفری"),
    ("Amiri", "امیری"), ("Sharifi", "شریفی"), ("Safi", "صافی"), ("Stanikzai", "ستانکزی"), ("Popal", "پوپل"),
    ("Wardak", "وردک"), ("Yousufzai", "یوسفزی"), ("Shinwari", "شینواری"), ("Hotak", "هوتک"), ("Nazari", "نظری"),
    ("Azizi", "عزیزی"), ("Habibi", "حبیبی"), ("Samadi", "صمدی"), ("Rasuli", "رسولی"), ("Khan", "خان"),
]

IRANIAN_FAMILY = [
    ("Ahmadi", "احمدی"), ("Hosseini", "حسینی"), ("Rezaei", "رضایی"), ("Mohammadi", "محمدی"), ("Moradi", "مرادی"),
    ("Rostami", "رستمی"), ("Sadeghi", "صادقی"), ("Ghasemi", "قاسمی"), ("Kazemi", "کاظمی"), ("Mousavi", "موسوی"),
    ("Tehrani", "تهرانی"), ("Najafi", "نجفی"), ("Karimi", "کریمی"), ("Jafari", "جعفری"),
]

ARABIC = {
    "male": [
        ("Mohammed", "محمد"), ("Ahmad", "أحمد"), ("Omar", "عمر"), ("Khaled", "خالد"), ("Yousef", "يوسف"),
        ("Ibrahim", "إبراهيم"), ("Abdulrahman", "عبد الرحمن"), ("Hamza", "حمزة"), ("Bilal", "بلال"),
        ("Mustafa", "مصطفى"), ("Ali", "علي"), ("Hussein", "حسين"), ("Karam", "كرم"), ("Adnan", "عدنان"),
        ("Amjad", "أمجد"), ("Mahmoud", "محمود"), ("Rami", "رامي"), ("Taha", "طه"), ("Zaid", "زيد"), ("Anas", "أنس"),
    ],
    "female": [
        ("Fatima", "فاطمة"), ("Aya", "آية"), ("Noor", "نور"), ("Hala", "هلا"), ("Rahaf", "رهف"), ("Amal", "أمل"),
        ("Sara", "سارة"), ("Mariam", "مريم"), ("Layla", "ليلى"), ("Zainab", "زينب"), ("Huda", "هدى"),
        ("Yasmin", "ياسمين"), ("Bayan", "بيان"), ("Ghazal", "غزل"), ("Doaa", "دعاء"), ("Shahd", "شهد"),
        ("Asmaa", "أسماء"), ("Hiba", "هبة"), ("Reem", "ريم"),
    ],
    "family": [
        ("Al-Hassan", "الحسن"), ("Al-Ahmad", "الأحمد"), ("Haddad", "حداد"), ("Khalil", "خليل"), ("Hamdan", "حمدان"),
        ("Al-Ali", "العلي"), ("Darwish", "درويش"), ("Nasser", "ناصر"), ("Saleh", "صالح"), ("Abbas", "عباس"),
        ("Al-Jabouri", "الجبوري"), ("Al-Obaidi", "العبيدي"), ("Mansour", "منصور"), ("Youssef", "يوسف"),
        ("Al-Khatib", "الخطيب"), ("Kassem", "قاسم"), ("Ibrahim", "إبراهيم"), ("Hamoud", "حمود"), ("Al-Masri", "المصري"),
    ],
}

MOROCCAN = {
    "male": [
        ("Mohamed", "محمد"), ("Youssef", "يوسف"), ("Ayoub", "أيوب"), ("Yassine", "ياسين"), ("Amine", "أمين"),
        ("Hamza", "حمزة"), ("Zakaria", "زكرياء"), ("Anas", "أنس"), ("Ilyas", "إلياس"), ("Adam", "آدم"),
    ],
    "female": [("Salma", "سلمى"), ("Khadija", "خديجة"), ("Imane", "إيمان"), ("Hajar", "هاجر"), ("Aya", "آية")],
    "family": [
        ("El Amrani", "العمراني"), ("Benali", "بنعلي"), ("El Idrissi", "الإدريسي"), ("Bouzid", "بوزيد"),
        ("Alaoui", "العلوي"), ("Tazi", "التازي"), ("Bennani", "بناني"), ("Chraibi", "الشرايبي"),
    ],
}

KURDISH = {  # originals in the Central Kurdish (Sorani) Arabic-based alphabet
    "male": [
        ("Azad", "ئازاد"), ("Dilshad", "دلشاد"), ("Hozan", "هۆزان"), ("Baran", "باران"), ("Shivan", "شڤان"),
        ("Kawa", "کاوە"), ("Rebwar", "ڕێبوار"), ("Hemin", "هێمن"), ("Alan", "ئالان"), ("Rojhat", "ڕۆژهات"),
    ],
    "female": [
        ("Rojin", "ڕۆژین"), ("Berivan", "بێریڤان"), ("Nazdar", "نازدار"), ("Shilan", "شیلان"), ("Avin", "ئاڤین"),
        ("Dilan", "دیلان"), ("Zhiyan", "ژیان"), ("Helin", "هێلین"), ("Evin", "ئێڤین"),
    ],
    "family": [
        ("Barzani", "بارزانی"), ("Zebari", "زێباری"), ("Ahmed", "ئەحمەد"), ("Mustafa", "مستەفا"), ("Hasan", "حەسەن"),
        ("Othman", "عوسمان"), ("Rashid", "ڕەشید"), ("Qadir", "قادر"),
    ],
}

URDU = {
    "male": [
        ("Muhammad", "محمد"), ("Ali", "علی"), ("Usman", "عثمان"), ("Bilal", "بلال"), ("Hamza", "حمزہ"),
        ("Zeeshan", "ذیشان"), ("Imran", "عمران"), ("Asad", "اسد"), ("Faisal", "فیصل"), ("Waqas", "وقاص"),
        ("Adnan", "عدنان"), ("Shahzad", "شہزاد"), ("Haris", "حارث"), ("Ahsan", "احسن"), ("Danish", "دانش"),
    ],
    "female": [
        ("Ayesha", "عائشہ"), ("Fatima", "فاطمہ"), ("Zainab", "زینب"), ("Hira", "حرا"), ("Mahnoor", "ماہ نور"),
        ("Iqra", "اقرا"), ("Sana", "ثناء"), ("Rabia", "رابعہ"),
    ],
    "family": [
        ("Khan", "خان"), ("Ahmed", "احمد"), ("Hussain", "حسین"), ("Malik", "ملک"), ("Butt", "بٹ"),
        ("Chaudhry", "چوہدری"), ("Raza", "رضا"), ("Qureshi", "قریشی"), ("Sheikh", "شیخ"), ("Iqbal", "اقبال"),
        ("Akhtar", "اختر"), ("Shah", "شاہ"),
    ],
}


def _latin(male: str, female: str, family: str) -> dict:
    return {k: [(n, "") for n in v.split()] for k, v in (("male", male), ("female", female), ("family", family))}


TURKISH = _latin("Emre Yusuf Mehmet Mustafa Ahmet Berat Enes Ömer", "Elif Zeynep Ayşe Merve Esra",
                 "Yılmaz Kaya Demir Çelik Şahin Aydın Öztürk Arslan")
BENGALI = _latin("Rahim Sakib Tanvir Rafiq Jahid Arif Hasan Shakil", "Nusrat Sumaiya Tania Farzana",
                 "Hossain Rahman Islam Ahmed Uddin Miah Akter Chowdhury")
SOMALI = _latin("Abdirahman Mohamed Abdullahi Hassan Ahmed Abdikarim", "Hodan Fadumo Amina Sahra Ifrah",
                "Abdi Warsame Farah Jama Omar Mohamud Hirsi Yusuf")
RUNDI = _latin("Eric Patrick Olivier Emmanuel Fabrice Jean-Claude", "Aline Divine Grace Ange Clarisse",
               "Ndayishimiye Niyonzima Hakizimana Nkurunziza Irakoze Bizimana")
CUBAN = _latin("Carlos Yoandri Alejandro Yasmani Adrián", "Yanelis Daniela María Yaimara",
               "González Rodríguez Pérez Hernández Díaz Fernández")
ERITREAN = _latin("Yonas Filmon Samuel Daniel Merhawi Robel", "Helen Senait Feven Selam",
                  "Tesfay Gebremedhin Kidane Haile Berhe Tekle")

GROUPS = {
    "afghan": {**PERSIAN, "family": AFGHAN_FAMILY},
    "iranian": {**PERSIAN, "family": IRANIAN_FAMILY},
    "arabic": ARABIC,
    "moroccan": MOROCCAN,
    "kurdish": KURDISH,
    "urdu": URDU,
    "turkish": TURKISH,
    "bengali": BENGALI,
    "somali": SOMALI,
    "rundi": RUNDI,
    "cuban": CUBAN,
    "eritrean": ERITREAN,
}

# ISO 3166-1 alpha-3, weight, [(first language ISO 639-3, weight)], name group.
COUNTRIES = [
    ("AFG", 40, [("prs", 55), ("pus", 40), ("haz", 5)], "afghan"),
    ("SYR", 18, [("ara", 80), ("kmr", 20)], "arabic"),
    ("IRQ", 8, [("ara", 60), ("ckb", 25), ("kmr", 15)], "arabic"),
    ("PAK", 8, [("urd", 60), ("pnb", 25), ("pus", 15)], "urdu"),
    ("IRN", 6, [("fas", 80), ("ckb", 10), ("azb", 10)], "iranian"),
    ("MAR", 4, [("ary", 100)], "moroccan"),
    ("TUR", 3, [("tur", 60), ("kmr", 40)], "turkish"),
    ("BGD", 3, [("ben", 100)], "bengali"),
    ("SOM", 2, [("som", 100)], "somali"),
    ("PSE", 2, [("ara", 100)], "arabic"),
    ("BDI", 2, [("run", 100)], "rundi"),
    ("CUB", 2, [("spa", 100)], "cuban"),
    ("ERI", 2, [("tir", 100)], "eritrean"),
]
# Kurdish speakers get Kurdish names whatever their country.
LANGUAGE_GROUP = {"kmr": "kurdish", "ckb": "kurdish"}

SERBIAN_GIVEN = ("Jelena Milica Marko Nikola Ana Dragana Snežana Ivana Vladimir Dejan Tamara Jovana Miloš Zoran "
                 "Gordana Biljana Aleksandar Maja").split()
SERBIAN_FAMILY = ("Petrović Jovanović Nikolić Marković Đorđević Stojanović Ilić Stanković Pavlović Milošević "
                  "Popović Kovačević Tomić Lukić Savić").split()
# Tutin's social workers are mostly Bosniaks; Subotica's often Hungarian.
LOCAL_NAMES = {
    "Tutin": ("Emina Amela Senad Edin Elma Mirsad Azra".split(),
              "Hodžić Muratović Kurtović Ramović Dacić Hamidović".split()),
    "Subotica": ("Éva Katalin László Zoltán Tímea Jelena Marko".split(),
                 "Kovács Szabó Horváth Nagy Tóth Petrović Vuković".split()),
}


def guardian_name(rng, municipality: str) -> str:
    given, family = LOCAL_NAMES.get(municipality, (SERBIAN_GIVEN, SERBIAN_FAMILY))
    return f"{rng.choice(given)} {rng.choice(family)}"
