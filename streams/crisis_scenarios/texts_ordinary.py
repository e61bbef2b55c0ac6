"""What customers and outlets say on an ordinary day, per source and language.

Questions, praise, how-tos and small complaints, some of them about billing, logins or
slowness, so that ``topic:billing`` and ``topic:login`` have a real baseline and a crisis has
to stand out from everyday grumbling rather than from silence. The company is the fictional
Northwind, a software service with a web app, a mobile app and a few devices.
"""

from __future__ import annotations

from streams.crisis_scenarios.phrasing import Phrasebook

COMPANY = "Northwind"

_EN_SLOTS = {
    "action": [
        "export my data to CSV",
        "add a teammate",
        "change my billing email",
        "set up two factor",
        "connect Slack",
        "reset my password",
        "archive old projects",
        "change the invoice address",
        "switch to annual billing",
        "move a project to another workspace",
        "set up SSO",
        "download all invoices",
        "change the language of the app",
        "turn off the weekly email",
        "share a report with a client",
        "import contacts from a spreadsheet",
        "rename my workspace",
        "pair the hub with my phone",
        "schedule a report",
        "undo a deleted task",
    ],
    "feature": [
        "the dashboard",
        "the mobile app",
        "the reports page",
        "dark mode",
        "the calendar view",
        "the search",
        "the new editor",
        "the API",
        "the offline mode",
        "the Hub Mini",
        "the tracker",
        "the templates",
        "the team inbox",
        "the widget",
    ],
    "integration": ["Slack", "Google Sheets", "Zapier", "Outlook", "Teams", "Notion", "Jira"],
    "good": [
        "brilliant",
        "super helpful",
        "really quick",
        "fantastic",
        "excellent",
        "so friendly",
        "great",
        "spot on",
    ],
    "duration": ["ten minutes", "an hour", "two hours", "half a day", "a whole afternoon"],
    "wish": ["keyboard shortcuts", "a bulk edit", "more colours", "a CSV import", "an undo"],
    "thing": ["the export button", "my archived projects", "the settings", "the team list"],
    "years": ["two", "three", "five", "six"],
    "plan": ["free", "pro", "team", "enterprise"],
    "topic": ["remote work", "small business software", "data privacy", "AI features"],
    "month": ["March", "February", "last month", "the last quarter", "my team plan"],
    "when_month": ["mid-month", "after a week", "before renewal", "in the first month"],
    "times": ["twice", "three times", "again", "on my phone"],
}

_EN = [
    "How do I {action}?",
    "Is there a way to {action} on the {plan} plan?",
    "Can someone explain how to {action}?",
    "Quick question: where do I {action}?",
    "Does {feature} work with {integration}?",
    "When will {feature} support {integration}?",
    "Any tips to {action} faster?",
    "Hi, I'd like to {action}, could you point me to the right page?",
    "Love {feature}, {good} work!",
    "{feature} saved me {duration} this week, thank you",
    "Support was {good}, sorted in {duration}",
    "Using {company} for {years} years now, still {good}",
    "Really {good} update to {feature}",
    "Tip: you can {action} straight from {feature}",
    "Wrote a short guide on how to {action} with {company}",
    "TIL you can {action} in {feature}",
    "{feature} is a bit slow today but it works",
    "Wish {feature} had {wish}",
    "{feature} changed and I can't find {thing} anymore",
    "Would be nice if {feature} supported {integration}",
    "How do I download the invoice for {month}?",
    "Can I get a refund if I downgrade {when_month}?",
    "Where do I update the card for my {plan} subscription?",
    "Got logged out {times} today, minor but annoying",
    "Waiting {duration} for a reply on my ticket, is that normal?",
    "Thinking about moving our team to the {plan} plan, worth it?",
    "Is {feature} included in the {plan} plan?",
    "{company} webinar on {topic} was {good}",
    "Anyone using {feature} with {integration}? How is it?",
    "Password reset email took {duration} to arrive",
]

_DE_SLOTS = {
    "action": [
        "meine Daten als CSV exportieren",
        "ein Teammitglied hinzufügen",
        "die Rechnungsadresse ändern",
        "die Zwei-Faktor-Anmeldung einrichten",
        "Slack verbinden",
        "mein Passwort zurücksetzen",
        "alte Projekte archivieren",
        "auf jährliche Zahlung wechseln",
        "einen Bericht teilen",
        "den Hub mit dem Handy koppeln",
    ],
    "feature": [
        "das Dashboard",
        "die App",
        "die Berichte",
        "der Dunkelmodus",
        "die Suche",
        "der neue Editor",
        "der Hub Mini",
        "die Vorlagen",
    ],
    "good": ["super", "sehr hilfreich", "schnell", "klasse", "top", "freundlich"],
    "duration": ["zehn Minuten", "einer Stunde", "zwei Stunden", "einem halben Tag"],
    "plan": ["Free", "Pro", "Team", "Enterprise"],
    "integration": ["Slack", "Outlook", "Teams", "Google Sheets"],
}

_DE = [
    "Wie kann ich {action}?",
    "Kann man im {plan}-Tarif {action}?",
    "Kurze Frage: wo kann ich {action}?",
    "Funktioniert {feature} mit {integration}?",
    "Hallo, ich möchte {action}, wo finde ich das?",
    "{feature} ist {good}, danke!",
    "Der Support war {good}, Problem nach {duration} gelöst",
    "Tipp: man kann direkt in {feature} {action}",
    "{feature} ist heute etwas langsam, geht aber",
    "Wo finde ich meine Rechnung für den {plan}-Tarif?",
    "Warte seit {duration} auf eine Antwort zu meinem Ticket",
    "Lohnt sich der {plan}-Tarif für ein kleines Team?",
]

_FR_SLOTS = {
    "action": [
        "exporter mes données en CSV",
        "ajouter un collègue",
        "changer l'adresse de facturation",
        "activer la double authentification",
        "connecter Slack",
        "réinitialiser mon mot de passe",
        "archiver d'anciens projets",
        "passer à la facturation annuelle",
        "partager un rapport",
        "associer le Hub à mon téléphone",
    ],
    "feature": [
        "le tableau de bord",
        "l'appli",
        "les rapports",
        "le mode sombre",
        "la recherche",
        "le nouvel éditeur",
        "le Hub Mini",
        "les modèles",
    ],
    "good": ["génial", "très utile", "rapide", "top", "impeccable", "sympa"],
    "duration": ["dix minutes", "une heure", "deux heures", "une demi-journée"],
    "plan": ["Free", "Pro", "Team", "Enterprise"],
    "integration": ["Slack", "Outlook", "Teams", "Google Sheets"],
}

_FR = [
    "Comment faire pour {action} ?",
    "Est-ce possible de {action} avec l'offre {plan} ?",
    "Petite question : où peut-on {action} ?",
    "Est-ce que {feature} marche avec {integration} ?",
    "Bonjour, je voudrais {action}, où est-ce ?",
    "{feature}, c'est {good}, merci !",
    "Support {good}, réglé en {duration}",
    "Astuce : on peut {action} depuis {feature}",
    "{feature} est un peu lent aujourd'hui mais ça marche",
    "Où trouver ma facture de l'offre {plan} ?",
    "J'attends une réponse à mon ticket depuis {duration}",
    "L'offre {plan} vaut-elle le coup pour une petite équipe ?",
]

_ES_SLOTS = {
    "action": [
        "exportar mis datos a CSV",
        "añadir a un compañero",
        "cambiar la dirección de facturación",
        "activar la verificación en dos pasos",
        "conectar Slack",
        "restablecer mi contraseña",
        "archivar proyectos antiguos",
        "pasar a facturación anual",
        "compartir un informe",
        "vincular el Hub con mi móvil",
    ],
    "feature": [
        "el panel",
        "la app",
        "los informes",
        "el modo oscuro",
        "la búsqueda",
        "el nuevo editor",
        "el Hub Mini",
        "las plantillas",
    ],
    "good": ["genial", "muy útil", "rápido", "buenísimo", "excelente", "amable"],
    "duration": ["diez minutos", "una hora", "dos horas", "medio día"],
    "plan": ["Free", "Pro", "Team", "Enterprise"],
    "integration": ["Slack", "Outlook", "Teams", "Google Sheets"],
}

_ES = [
    "¿Cómo puedo {action}?",
    "¿Se puede {action} con el plan {plan}?",
    "Pregunta rápida: ¿dónde puedo {action}?",
    "¿{feature} funciona con {integration}?",
    "Hola, quisiera {action}, ¿dónde está?",
    "{feature} es {good}, ¡gracias!",
    "El soporte fue {good}, resuelto en {duration}",
    "Truco: se puede {action} desde {feature}",
    "{feature} va un poco lento hoy pero funciona",
    "¿Dónde encuentro la factura del plan {plan}?",
    "Llevo {duration} esperando respuesta a mi ticket",
]


def with_company(slots: dict[str, list[str]]) -> dict[str, list[str]]:
    return {**slots, "company": [COMPANY]}


ORDINARY = Phrasebook(
    {"en": _EN, "de": _DE, "fr": _FR, "es": _ES},
    {
        "en": with_company(_EN_SLOTS),
        "de": with_company(_DE_SLOTS),
        "fr": with_company(_FR_SLOTS),
        "es": with_company(_ES_SLOTS),
    },
)

# Reviews say the same kinds of things, as a verdict; the stars are drawn separately.
REVIEW_GOOD = Phrasebook(
    {
        "en": [
            "{good} app, {feature} is my favourite part",
            "Does what it says. {feature} is {good}",
            "Five stars, {feature} saves me {duration} a week",
            "Solid, only wish it had {wish}",
        ],
        "de": [
            "Die App ist {good}, vor allem {feature}",
            "Macht was sie soll, {feature} ist {good}",
        ],
        "fr": ["Appli {good}, surtout {feature}", "Fait le job, {feature} est {good}"],
        "es": ["App {good}, sobre todo {feature}", "Cumple, {feature} es {good}"],
    },
    ORDINARY.slots,
)
REVIEW_MEH = Phrasebook(
    {
        "en": [
            "Okay but {feature} is slow sometimes",
            "Fine, though {feature} keeps changing",
            "Good app, annoying that I can't {action} on mobile",
            "Logs me out {times}, otherwise fine",
            "Used to be better, {feature} feels clunky now",
            "Decent, but it took me {duration} to figure out how to {action}",
            "Three stars: {feature} is {good} but {wish} is missing",
            "Not bad, not great. {feature} crashes now and then",
        ],
        "de": [
            "Ganz ok, aber {feature} ist manchmal langsam",
            "Meldet mich zu oft ab",
            "Brauchte {duration}, um herauszufinden, wie man {action}",
        ],
        "fr": [
            "Correct mais {feature} est parfois lent",
            "Me déconnecte trop souvent",
            "Il m'a fallu {duration} pour {action}",
        ],
        "es": [
            "Bien, pero {feature} a veces va lento",
            "Me cierra la sesión a menudo",
            "Tardé {duration} en {action}",
        ],
    },
    ORDINARY.slots,
)
