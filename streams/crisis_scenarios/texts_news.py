"""What outlets publish on an ordinary day, who they are, and a launch day's happy chatter."""

from __future__ import annotations

from streams.crisis_scenarios.phrasing import Phrasebook
from streams.crisis_scenarios.texts_ordinary import ORDINARY, with_company

# Outlets: (name, domain, region, language). News mentions carry the outlet and a link.
OUTLETS: tuple[tuple[str, str, str, str], ...] = (
    ("The Daily Byte", "dailybyte.example", "us", "en"),
    ("TechWire", "techwire.example", "us", "en"),
    ("Silicon Ledger", "siliconledger.example", "us", "en"),
    ("Market Pulse", "marketpulse.example", "us", "en"),
    ("Cloud Report", "cloudreport.example", "us", "en"),
    ("Noticias Tec", "noticiastec.example", "us", "es"),
    ("Startup Gazette", "startupgazette.example", "us", "en"),
    ("Euro Tech Review", "eurotechreview.example", "eu", "en"),
    ("Digitalwelt", "digitalwelt.example", "eu", "de"),
    ("Le Journal du Net Pro", "jdnpro.example", "eu", "fr"),
    ("Handelsblick", "handelsblick.example", "eu", "de"),
    ("Continental Times", "continentaltimes.example", "eu", "en"),
    ("Numerama Pro", "numeramapro.example", "eu", "fr"),
    ("London Tech Post", "londontechpost.example", "eu", "en"),
    ("Asia Tech Daily", "asiatechdaily.example", "apac", "en"),
    ("Pacific Business", "pacificbusiness.example", "apac", "en"),
    ("Straits Digital", "straitsdigital.example", "apac", "en"),
    ("Harbour Herald", "harbourherald.example", "apac", "en"),
    ("Sydney Startup News", "sydneystartup.example", "apac", "en"),
    ("Tokyo Tech Journal", "tokyotech.example", "apac", "en"),
)

NEWS = Phrasebook(
    {
        "en": [
            "{company} adds {feature_news} to its {line} line",
            "Interview: {company}'s {role} on {topic}",
            "How {n} small teams use {company} for {topic}",
            "{company} hires {person} as head of {dept}",
            "Review: {company} {line}, {n} months later",
            "{company} expands {dept} team in {city}",
            "{n} alternatives to {company} for {topic}",
            "{company} publishes its report on {topic}",
            "{company} {line} gets {feature_news} in latest update",
            "Opinion: what {company}'s {line} means for {topic}",
            "{company} speaks at {city} conference on {topic}",
        ],
        "de": [
            "{company} erweitert das {dept}-Team in {city}",
            "Im Test: {company} {line}",
            "{company} und das Thema {topic}",
            "{company} holt {person} als Leitung {dept}",
        ],
        "fr": [
            "{company} renforce son équipe {dept} à {city}",
            "Test : {company} {line}",
            "{company} et la question de {topic}",
            "{company} recrute {person} à la tête de {dept}",
        ],
        "es": [
            "{company} amplía su equipo de {dept} en {city}",
            "Probamos {company} {line}",
            "{company} ficha a {person} para {dept}",
        ],
    },
    {
        lang: {
            **with_company({}),
            "feature_news": ["offline sync", "shared inboxes", "an AI assistant", "new reports"],
            "line": ["Hub", "Tracker", "Teams", "Cloud", "Inbox", "Reports"],
            "topic": [
                "remote work",
                "data privacy",
                "AI features",
                "small business software",
                "security",
                "customer support",
                "pricing",
            ],
            "dept": ["sales", "support", "engineering", "security", "marketing", "product"],
            "city": ["Berlin", "Lyon", "Austin", "Singapore", "Madrid", "Sydney", "Dublin"],
            "role": ["CTO", "CEO", "head of product", "security chief", "CFO"],
            "person": ["Ana Ruiz", "Tom Berg", "Mei Tan", "Olu Ade", "Sara Kim", "Jon Hale"],
            "n": ["three", "five", "six", "seven", "ten", "twelve"],
        }
        for lang in ("en", "de", "fr", "es")
    },
)

# A launch day's happy chatter (the busy marketing decoy).
MARKETING = Phrasebook(
    {
        "en": [
            "Just watched the {company} launch, {feature} looks {good}!",
            "The new {feature} from today's launch is {good}",
            "Signed up thanks to the launch-week discount",
            "Does the launch-week offer apply to annual plans?",
            "{company} launch day! Trying {feature} now",
            "Congrats to the {company} team on the launch, {good} stuff",
        ],
        "de": [
            "Der {company} Launch heute: {feature} sieht {good} aus!",
            "Gilt das Angebot auch jährlich?",
        ],
        "fr": [
            "Le lancement {company} aujourd'hui : {feature}, {good} !",
            "L'offre de lancement vaut aussi pour l'annuel ?",
        ],
        "es": [
            "El lanzamiento de {company} hoy: {feature}, ¡{good}!",
            "¿La oferta de lanzamiento vale para el plan anual?",
        ],
    },
    ORDINARY.slots,
)
