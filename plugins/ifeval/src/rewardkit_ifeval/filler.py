"""Plain sentences, per language, that :mod:`rewardkit_ifeval.samples` builds responses from.

English sentences avoid commas, capital words (even "I") and digits so that they can be combined
with any IFEval instruction; a few avoid common letters so that "fewer than N letter x" can be met.
"""

from __future__ import annotations

ENGLISH = (
    "the river runs past the old mill and into the quiet valley.",
    "people in the town gather at the market every morning.",
    "a good plan starts with a clear goal and a simple first step.",
    "the garden needs water twice a week during the hot summer months.",
    "our team meets on monday to review the work of the past week.",
    "fresh bread from the corner bakery sells out before noon.",
    "the museum opens a new exhibit about ancient maps next month.",
    "clear writing helps readers follow an argument from start to end.",
    "the mountain trail is steep but the view from the top is worth it.",
    "children learn faster when lessons feel like play.",
    "the library keeps long hours during the exam season.",
    "a small change in habits can make a large difference over time.",
    "the chef tastes every sauce before it leaves the kitchen.",
    "rain fell all night and the streets were shining by dawn.",
    "the bridge was built to carry trains across the wide river.",
    "good tools make hard work easier and safer for everyone.",
    "the old lighthouse still guides boats along the rocky coast.",
    "birds sing loudly in the trees just after sunrise.",
    "the report explains the results in plain and simple words.",
    "many visitors come to the island to watch the whales swim by.",
    # short ones with few of the common letters, for "fewer than N of letter x" instructions
    "this is a good day for a walk.",
    "it is cold tonight.",
    "my dog is fond of long hikes.",
    "look up and you will spot a hawk.",
    "fish swim in a pond.",
    "kids run to school.",
    "a bird sang.",
    "dry logs burn well.",
)

#: A few sentences per language langdetect knows, for ``language:response_language``.
OTHER = {
    "ar": (
        "ذهبت إلى السوق في الصباح واشتريت الخبز والحليب.",
        "الطقس جميل اليوم ونحن نحب المشي في الحديقة.",
        "يقرأ الطلاب الكتب في المكتبة كل يوم.",
    ),
    "bg": (
        "Днес времето е хубаво и отиваме на разходка в парка.",
        "Децата четат книги в библиотеката всеки ден.",
        "Обичам да пия кафе сутрин преди работа.",
    ),
    "bn": (
        "আমি প্রতিদিন সকালে বাজারে যাই এবং তাজা সবজি কিনি।",
        "আজ আবহাওয়া খুব সুন্দর এবং আমরা পার্কে হাঁটতে যাব।",
        "ছাত্ররা লাইব্রেরিতে বসে বই পড়ে।",
    ),
    "de": (
        "Das Wetter ist heute sehr schön und wir gehen in den Park.",
        "Die Kinder lesen jeden Tag Bücher in der Bibliothek.",
        "Ich trinke morgens gern einen Kaffee bevor ich zur Arbeit gehe.",
    ),
    "fa": (
        "امروز هوا خیلی خوب است و ما به پارک می‌رویم.",
        "بچه‌ها هر روز در کتابخانه کتاب می‌خوانند.",
        "من صبح‌ها قبل از رفتن به کار چای می‌نوشم.",
    ),
    "fi": (
        "Tänään on kaunis päivä ja menemme puistoon kävelylle.",
        "Lapset lukevat kirjoja kirjastossa joka päivä.",
        "Juon aamulla kahvia ennen kuin lähden töihin.",
    ),
    "gu": (
        "આજે હવામાન ખૂબ સરસ છે અને અમે બગીચામાં ફરવા જઈએ છીએ.",
        "બાળકો દરરોજ પુસ્તકાલયમાં પુસ્તકો વાંચે છે.",
        "હું સવારે કામ પર જતા પહેલા ચા પીઉં છું.",
    ),
    "hi": (
        "आज मौसम बहुत अच्छा है और हम पार्क में घूमने जा रहे हैं।",
        "बच्चे हर दिन पुस्तकालय में किताबें पढ़ते हैं।",
        "मैं सुबह काम पर जाने से पहले चाय पीता हूँ।",
    ),
    "it": (
        "Oggi il tempo è molto bello e andiamo a fare una passeggiata nel parco.",
        "I bambini leggono libri in biblioteca ogni giorno.",
        "La mattina bevo un caffè prima di andare al lavoro.",
    ),
    "kn": (
        "ಇಂದು ಹವಾಮಾನ ತುಂಬಾ ಚೆನ್ನಾಗಿದೆ ಮತ್ತು ನಾವು ಉದ್ಯಾನವನಕ್ಕೆ ಹೋಗುತ್ತಿದ್ದೇವೆ.",
        "ಮಕ್ಕಳು ಪ್ರತಿದಿನ ಗ್ರಂಥಾಲಯದಲ್ಲಿ ಪುಸ್ತಕಗಳನ್ನು ಓದುತ್ತಾರೆ.",
        "ನಾನು ಬೆಳಿಗ್ಗೆ ಕೆಲಸಕ್ಕೆ ಹೋಗುವ ಮೊದಲು ಕಾಫಿ ಕುಡಿಯುತ್ತೇನೆ.",
    ),
    "ko": (
        "오늘은 날씨가 아주 좋아서 우리는 공원에 산책하러 갑니다.",
        "아이들은 매일 도서관에서 책을 읽습니다.",
        "나는 아침에 출근하기 전에 커피를 마십니다.",
    ),
    "mr": (
        "आज हवामान खूप छान आहे आणि आम्ही बागेत फिरायला जात आहोत.",
        "मुले दररोज ग्रंथालयात पुस्तके वाचतात.",
        "मी सकाळी कामावर जाण्यापूर्वी चहा पितो.",
    ),
    "ne": (
        "आज मौसम धेरै राम्रो छ र हामी पार्कमा घुम्न जाँदैछौं।",
        "केटाकेटीहरू हरेक दिन पुस्तकालयमा किताब पढ्छन्।",
        "म बिहान काममा जानुअघि चिया पिउँछु।",
    ),
    "pa": (
        "ਅੱਜ ਮੌਸਮ ਬਹੁਤ ਵਧੀਆ ਹੈ ਅਤੇ ਅਸੀਂ ਪਾਰਕ ਵਿੱਚ ਘੁੰਮਣ ਜਾ ਰਹੇ ਹਾਂ।",
        "ਬੱਚੇ ਹਰ ਰੋਜ਼ ਲਾਇਬ੍ਰੇਰੀ ਵਿੱਚ ਕਿਤਾਬਾਂ ਪੜ੍ਹਦੇ ਹਨ।",
        "ਮੈਂ ਸਵੇਰੇ ਕੰਮ ਤੇ ਜਾਣ ਤੋਂ ਪਹਿਲਾਂ ਚਾਹ ਪੀਂਦਾ ਹਾਂ।",
    ),
    "pt": (
        "Hoje o tempo está muito bonito e vamos passear no parque.",
        "As crianças leem livros na biblioteca todos os dias.",
        "Eu bebo um café de manhã antes de ir para o trabalho.",
    ),
    "ru": (
        "Сегодня очень хорошая погода и мы идём гулять в парк.",
        "Дети каждый день читают книги в библиотеке.",
        "Утром я пью кофе перед тем как идти на работу.",
    ),
    "sw": (
        "Leo hali ya hewa ni nzuri sana na tunakwenda kutembea bustanini.",
        "Watoto husoma vitabu maktaba kila siku.",
        "Mimi hunywa chai asubuhi kabla ya kwenda kazini.",
    ),
    "ta": (
        "இன்று வானிலை மிகவும் நன்றாக உள்ளது மற்றும் நாங்கள் பூங்காவிற்கு செல்கிறோம்.",
        "குழந்தைகள் தினமும் நூலகத்தில் புத்தகங்களைப் படிக்கிறார்கள்.",
        "நான் காலையில் வேலைக்குச் செல்வதற்கு முன் காபி குடிப்பேன்.",
    ),
    "te": (
        "ఈ రోజు వాతావరణం చాలా బాగుంది మరియు మేము పార్కుకు వెళ్తున్నాము.",
        "పిల్లలు ప్రతిరోజూ గ్రంథాలయంలో పుస్తకాలు చదువుతారు.",
        "నేను ఉదయం పనికి వెళ్ళే ముందు కాఫీ తాగుతాను.",
    ),
    "th": ("วันนี้อากาศดีมากและเราจะไปเดินเล่นที่สวนสาธารณะ", "เด็กๆ อ่านหนังสือที่ห้องสมุดทุกวัน", "ฉันดื่มกาแฟตอนเช้าก่อนไปทำงาน"),
    "ur": (
        "آج موسم بہت اچھا ہے اور ہم پارک میں سیر کرنے جا رہے ہیں۔",
        "بچے ہر روز لائبریری میں کتابیں پڑھتے ہیں۔",
        "میں صبح کام پر جانے سے پہلے چائے پیتا ہوں۔",
    ),
    "vi": (
        "Hôm nay thời tiết rất đẹp và chúng tôi đi dạo trong công viên.",
        "Trẻ em đọc sách ở thư viện mỗi ngày.",
        "Tôi uống cà phê vào buổi sáng trước khi đi làm.",
    ),
}
