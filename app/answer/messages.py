"""What Verbatim says around the quotes, in the asker's language: each line written once, in one table.

The quotes are always the report's own words, in the report's language; these lines frame them.
A language outside the table gets the English lines (and a real answer, never a refusal).

>>> line("ru", "not_answered")
'В докладе, похоже, нет ответа на этот вопрос.'
>>> line("pt", "not_answered") == line("en", "not_answered")
True
"""

from __future__ import annotations

KEYS = ("not_answered", "closest", "uncertain", "quoted_in", "help", "try", "summarize", "hello")

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "not_answered": "The report does not appear to answer this question.",
        "closest": "The closest passage is shown below; it is not an answer.",
        "uncertain": "The report mentions this, but may not answer it exactly:",
        "quoted_in": "The quotes are the report's own words, in its language ({language}).",
        "help": "I answer questions about the report by quoting it word for word, with a citation for every quote; "
                "when the report has no answer, I say so.",
        "try": "Try, for example:",
        "summarize": "Summarize the report (its key passages)",
        "hello": "hi|hello|hey|help|help me",
    },
    "ru": {
        "not_answered": "В докладе, похоже, нет ответа на этот вопрос.",
        "closest": "Ниже — самый близкий фрагмент; это не ответ.",
        "uncertain": "В докладе об этом говорится, но, возможно, не совсем то, что вы спросили:",
        "quoted_in": "Цитаты — собственные слова доклада, на языке оригинала ({language}).",
        "help": "Я отвечаю на вопросы о докладе, цитируя его дословно и со ссылкой на каждую цитату; "
                "если в докладе нет ответа, я так и говорю.",
        "try": "Например, спросите:",
        "summarize": "Кратко изложи доклад (его главные фрагменты)",
        "hello": "привет|здравствуйте|помощь|помоги|помогите",
    },
    "kk": {
        "not_answered": "Баяндамада бұл сұраққа жауап жоқ сияқты.",
        "closest": "Төменде ең жақын үзінді берілген; бұл жауап емес.",
        "uncertain": "Баяндамада бұл туралы айтылады, бірақ сұрағыңызға дәл жауап бермеуі мүмкін:",
        "quoted_in": "Дәйексөздер — баяндаманың өз сөздері, түпнұсқа тілінде ({language}).",
        "help": "Мен баяндама туралы сұрақтарға оны сөзбе-сөз дәйексөзбен, әр дәйексөзге сілтеме бере отырып "
                "жауап беремін; баяндамада жауап болмаса, соны айтамын.",
        "try": "Мысалы, сұраңыз:",
        "summarize": "Баяндаманы қысқаша баянда (басты үзінділері)",
        "hello": "сәлем|сәлеметсіз бе|көмек|көмектес",
    },
    "uk": {
        "not_answered": "У доповіді, схоже, немає відповіді на це питання.",
        "closest": "Нижче — найближчий фрагмент; це не відповідь.",
        "uncertain": "У доповіді про це йдеться, але, можливо, не зовсім те, що ви запитали:",
        "quoted_in": "Цитати — власні слова доповіді, мовою оригіналу ({language}).",
        "help": "Я відповідаю на питання про доповідь, цитуючи її дослівно й з посиланням на кожну цитату; "
                "якщо в доповіді немає відповіді, я так і кажу.",
        "try": "Наприклад, запитайте:",
        "summarize": "Стисло виклади доповідь (її головні фрагменти)",
        "hello": "привіт|вітаю|допомога|допоможи|допоможіть",
    },
    "de": {
        "not_answered": "Der Bericht scheint diese Frage nicht zu beantworten.",
        "closest": "Unten steht die nächstliegende Stelle; sie ist keine Antwort.",
        "uncertain": "Der Bericht erwähnt das, beantwortet die Frage aber vielleicht nicht genau:",
        "quoted_in": "Die Zitate sind die eigenen Worte des Berichts, in seiner Sprache ({language}).",
        "help": "Ich beantworte Fragen zum Bericht, indem ich ihn wörtlich zitiere, mit einer Quellenangabe zu "
                "jedem Zitat; wenn der Bericht keine Antwort enthält, sage ich das.",
        "try": "Fragen Sie zum Beispiel:",
        "summarize": "Fasse den Bericht zusammen (seine wichtigsten Stellen)",
        "hello": "hallo|guten tag|hilfe",
    },
    "es": {
        "not_answered": "El informe no parece responder a esta pregunta.",
        "closest": "Abajo está el pasaje más cercano; no es una respuesta.",
        "uncertain": "El informe menciona esto, pero quizá no responde exactamente a la pregunta:",
        "quoted_in": "Las citas son las propias palabras del informe, en su idioma ({language}).",
        "help": "Respondo preguntas sobre el informe citándolo palabra por palabra, con una referencia para cada "
                "cita; cuando el informe no tiene respuesta, lo digo.",
        "try": "Pruebe, por ejemplo:",
        "summarize": "Resume el informe (sus pasajes clave)",
        "hello": "hola|buenos días|ayuda",
    },
    "fr": {
        "not_answered": "Le rapport ne semble pas répondre à cette question.",
        "closest": "Le passage le plus proche figure ci-dessous ; ce n'est pas une réponse.",
        "uncertain": "Le rapport en parle, mais ne répond peut-être pas exactement à la question :",
        "quoted_in": "Les citations sont les propres mots du rapport, dans sa langue ({language}).",
        "help": "Je réponds aux questions sur le rapport en le citant mot pour mot, avec une référence pour chaque "
                "citation ; quand le rapport ne répond pas, je le dis.",
        "try": "Essayez par exemple :",
        "summarize": "Résume le rapport (ses passages clés)",
        "hello": "bonjour|salut|aide",
    },
    "ar": {
        "not_answered": "لا يبدو أن التقرير يجيب عن هذا السؤال.",
        "closest": "أقرب مقطع معروض أدناه؛ وهو ليس إجابة.",
        "uncertain": "يذكر التقرير هذا، لكنه قد لا يجيب عن السؤال بدقة:",
        "quoted_in": "الاقتباسات هي كلمات التقرير نفسه، بلغته الأصلية ({language}).",
        "help": "أجيب عن الأسئلة حول التقرير باقتباسه حرفيًا، مع مرجع لكل اقتباس؛ وإذا لم يكن في التقرير جواب "
                "أقول ذلك.",
        "try": "جرّب مثلًا:",
        "summarize": "لخّص التقرير (مقاطعه الرئيسية)",
        "hello": "مرحبا|مرحبًا|السلام عليكم|مساعدة|ساعدني",
    },
    "zh": {
        "not_answered": "报告似乎没有回答这个问题。",
        "closest": "下面是最接近的段落；它不是答案。",
        "uncertain": "报告提到了这一点，但可能没有确切回答这个问题：",
        "quoted_in": "引文是报告的原话，使用报告的语言（{language}）。",
        "help": "我通过逐字引用报告来回答有关报告的问题，每条引文都注明出处；如果报告没有答案，我会直说。",
        "try": "例如，可以问：",
        "summarize": "总结这份报告（其要点段落）",
        "hello": "你好|您好|帮助|帮帮我",
    },
}


def line(language: str | None, key: str) -> str:
    """The line `key` in `language` (ISO 639-1; None is English), English when the table lacks it."""
    if key not in KEYS:
        raise KeyError(f"message {key!r} is not one of {', '.join(KEYS)}")
    return MESSAGES.get(language or "en", MESSAGES["en"]).get(key, MESSAGES["en"][key])


def greetings() -> dict[str, str]:
    """Each language's greetings and calls for help (a question that is only one of them gets the help)."""
    return {lang: table["hello"] for lang, table in MESSAGES.items()}
