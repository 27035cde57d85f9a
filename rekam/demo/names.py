"""Word lists and shares for the synthetic population: names, religions, occupations, places.

The shares are round figures in the spirit of Lampung's census (a Muslim majority, Balinese
Hindu communities in the transmigration areas, more Christians and Buddhists in the cities,
farming in the regencies); they make the demo look real, they are not statistics.
"""

from __future__ import annotations

from rekam.residents.models import Religion


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split("|"))


# Religion shares for regencies (kabupaten) and cities (kota).
RELIGIONS_REGENCY = {
    Religion.ISLAM: 95.4,
    Religion.KRISTEN: 1.5,
    Religion.KATOLIK: 1.2,
    Religion.HINDU: 1.5,
    Religion.BUDDHA: 0.3,
    Religion.KONGHUCU: 0.02,
    Religion.KEPERCAYAAN: 0.08,
}
RELIGIONS_CITY = {
    Religion.ISLAM: 90.3,
    Religion.KRISTEN: 3.4,
    Religion.KATOLIK: 2.4,
    Religion.HINDU: 0.4,
    Religion.BUDDHA: 3.3,
    Religion.KONGHUCU: 0.15,
    Religion.KEPERCAYAAN: 0.05,
}

# Given and second names by naming tradition and sex.
MUSLIM_MALE = _words(
    "Agus Ahmad Andi Arif Bambang Budi Dedi Deni Dimas Eko Fajar Fauzi Hadi Hendra Heru "
    "Imam Indra Iwan Joko Kurniawan Lukman Muhammad Nur Rahmat Rizki Rudi Slamet Sugeng "
    "Suparman Supriyadi Surya Syaiful Taufik Teguh Wahyu Yusuf Zainal Hasanudin "
    "Firmansyah Aditya Bayu Gilang Ilham Rafi Dani Anton Sutrisno Sukardi Ridwan Irfan "
    "Hamzah Abdul Rohman Yoga Aldi Rendi Haris Mulyadi"
)
MUSLIM_FEMALE = _words(
    "Siti Sri Dewi Ani Rina Nur Lestari Wati Yuli Eka Fitri Indah Lina Maya Nia Putri "
    "Ratna Rini Sari Tuti Umi Wulan Yanti Aisyah Fatimah Aminah Khadijah Nurul Rahma "
    "Salsabila Zahra Anisa Dian Eni Endang Heni Ika Kartika Lilis Mega Novi Puji Rosita "
    "Suryani Tri Winda Yuni Nabila Aulia Nadia Intan Suci Ayu Marlina Nining Sumiati "
    "Partini Sulastri"
)
MUSLIM_SECOND_MALE = _words(
    "Santoso Setiawan Saputra Pratama Hidayat Wijaya Kurniawan Susanto Hakim Rahman "
    "Nugroho Prasetyo Purnomo Gunawan Hartono Sulistyo Wibowo Hermawan Syahputra Ramadhan "
    "Maulana Hasan Firdaus Sanjaya Suryadi Effendi Haryanto Mustofa Arifin Junaidi "
    "Zulkarnain Yusuf Hidayatullah Akbar Fadillah Anwar"
)
MUSLIM_SECOND_FEMALE = _words(
    "Aminah Lestari Wahyuni Rahayu Handayani Susanti Anggraini Fitriani Yulianti Permata "
    "Puspita Utami Safitri Rahmawati Kusumawati Nuraini Purwanti Oktaviani Maharani "
    "Ningsih Agustina Wulandari Novitasari Pertiwi Rahmadani Damayanti Ramadhani Astuti"
)
CHRISTIAN_MALE = _words(
    "Yohanes Petrus Paulus Stefanus Markus Daniel David Samuel Yosef Andreas Fransiskus "
    "Antonius Benediktus Agustinus Robert Kristian Timotius Mikael Gabriel Yakobus"
)
CHRISTIAN_FEMALE = _words(
    "Maria Theresia Elisabeth Yohana Agnes Veronika Magdalena Monika Katarina Lusia "
    "Debora Ruth Ester Natalia Kristina Margaretha Yuliana Fransiska Anastasia Cecilia"
)
CHRISTIAN_SECOND = _words(
    "Simanjuntak Siregar Situmorang Sitompul Pardede Manurung Hutapea Sinaga Purba "
    "Tambunan Wijaya Santoso Kurniawan Setiawan Gultom Nainggolan Sihombing Lumbantobing "
    "Saragih Ginting"
)
# Balinese names: a birth-order name after the sex marker (I / Ni), then a given name.
BALINESE_ORDER = ("Wayan", "Putu", "Gede", "Made", "Kadek", "Nyoman", "Komang", "Ketut")
BALINESE_MALE = _words(
    "Suarta Sudarma Astawa Mertha Wirawan Adnyana Sukadana Artawan Budiasa Darmawan "
    "Suwirya Yasa Arsana Widiana Parwata"
)
BALINESE_FEMALE = _words(
    "Sukerti Suartini Ariani Sriani Wartini Sumerti Suryani Astiti Dewi Purnami Ratni "
    "Wahyuni Sudiani Karmini Mariani"
)
CHINESE_MALE = _words(
    "Hendra Sutanto Hartono Gunawan Halim Wijaya Tjandra Salim Liem Budiman Kusnadi "
    "Tanuwijaya Hendrik Wilson Kevin Jonathan Felix"
)
CHINESE_FEMALE = _words(
    "Lili Meiliana Lanny Susan Linda Fenny Yenny Vivian Cindy Shirley Melinda Jessica "
    "Angeline Stephanie Lusiana Mellisa"
)
CHINESE_SECOND = _words(
    "Tan Lim Wijaya Halim Gunawan Kusuma Salim Tanoto Santoso Hartono Setiadi Susilo "
    "Tjahjadi Lie Ong"
)

# Birth places beyond the resident's own regency: the rest of Lampung and the places where
# most migrants to Lampung come from (Java, Bali, South Sumatra).
OTHER_BIRTH_PLACES = _phrases(
    "Bandar Lampung|Metro|Kotabumi|Kalianda|Pringsewu|Palembang|Jakarta|Bandung|Semarang|"
    "Surabaya|Yogyakarta|Klaten|Kebumen|Cilacap|Banyumas|Kediri|Blitar|Ponorogo|Wonogiri|"
    "Serang|Cirebon|Tasikmalaya|Denpasar|Tabanan|Medan|Padang|Baturaja|Bengkulu"
)

STREETS = _phrases(
    "Jl. Ahmad Yani|Jl. Diponegoro|Jl. Sudirman|Jl. Kartini|Jl. Pramuka|Jl. Teuku Umar|"
    "Jl. Imam Bonjol|Jl. Gajah Mada|Jl. Hayam Wuruk|Jl. Pemuda|Jl. Merdeka|"
    "Jl. Raden Intan|Jl. Cut Nyak Dien|Jl. Pattimura|Jl. Veteran|Jl. Sultan Agung|"
    "Jl. Wolter Monginsidi|Jl. Kenanga|Jl. Melati|Jl. Mawar|Jl. Flamboyan|Jl. Cempaka|"
    "Jl. Nangka|Jl. Durian|Jl. Pelita|Jl. Damai|Jl. Swadaya|Jl. Bougenville|"
    "Jl. Zainal Abidin Pagar Alam|Jl. Soekarno-Hatta"
)
HAMLET_NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")

# Occupations as the civil registry writes them, by group.
OCCUPATIONS: dict[str, dict[str, float]] = {
    "child": {"BELUM/TIDAK BEKERJA": 1.0},
    "student": {"PELAJAR/MAHASISWA": 1.0},
    "young": {
        "PELAJAR/MAHASISWA": 45,
        "BELUM/TIDAK BEKERJA": 15,
        "KARYAWAN SWASTA": 12,
        "WIRASWASTA": 8,
        "BURUH HARIAN LEPAS": 8,
        "PETANI/PEKEBUN": 8,
        "PEDAGANG": 4,
    },
    "man_regency": {
        "PETANI/PEKEBUN": 36,
        "WIRASWASTA": 16,
        "BURUH TANI/PERKEBUNAN": 9,
        "BURUH HARIAN LEPAS": 9,
        "KARYAWAN SWASTA": 8,
        "PEDAGANG": 6,
        "NELAYAN/PERIKANAN": 2,
        "SOPIR": 2,
        "PEGAWAI NEGERI SIPIL": 3,
        "GURU": 2,
        "TUKANG BATU": 2,
        "PETERNAK": 2,
        "TENTARA NASIONAL INDONESIA": 0.5,
        "KEPOLISIAN RI": 0.5,
        "BELUM/TIDAK BEKERJA": 2,
    },
    "man_city": {
        "KARYAWAN SWASTA": 30,
        "WIRASWASTA": 22,
        "PEDAGANG": 9,
        "BURUH HARIAN LEPAS": 10,
        "PEGAWAI NEGERI SIPIL": 6,
        "SOPIR": 4,
        "GURU": 3,
        "KARYAWAN BUMN": 2,
        "TENTARA NASIONAL INDONESIA": 1,
        "KEPOLISIAN RI": 1.5,
        "DOSEN": 0.5,
        "NELAYAN/PERIKANAN": 1,
        "PETANI/PEKEBUN": 3,
        "BELUM/TIDAK BEKERJA": 4,
    },
    "woman_regency": {
        "MENGURUS RUMAH TANGGA": 48,
        "PETANI/PEKEBUN": 18,
        "WIRASWASTA": 8,
        "PEDAGANG": 8,
        "BURUH TANI/PERKEBUNAN": 5,
        "KARYAWAN SWASTA": 4,
        "GURU": 3,
        "PEGAWAI NEGERI SIPIL": 2,
        "BIDAN": 0.5,
        "BELUM/TIDAK BEKERJA": 3.5,
    },
    "woman_city": {
        "MENGURUS RUMAH TANGGA": 44,
        "KARYAWAN SWASTA": 17,
        "WIRASWASTA": 12,
        "PEDAGANG": 9,
        "PEGAWAI NEGERI SIPIL": 5,
        "GURU": 5,
        "PERAWAT": 1.5,
        "BIDAN": 0.5,
        "DOSEN": 0.5,
        "BELUM/TIDAK BEKERJA": 5.5,
    },
    "old": {
        "BELUM/TIDAK BEKERJA": 40,
        "MENGURUS RUMAH TANGGA": 20,
        "PETANI/PEKEBUN": 22,
        "PENSIUNAN": 10,
        "PEDAGANG": 4,
        "WIRASWASTA": 4,
    },
}

# Mobile prefixes of Indonesian operators (after +62 8).
MOBILE_PREFIXES = _words(
    "11 12 13 21 22 23 51 52 53 14 15 16 55 56 57 58 77 78 17 18 19 59 31 32 38 95 96 97 "
    "98 99 81 82 83 85 87 88"
)
