"""What people say when something is wrong, and the wire stories that only look like news.

Every crisis speaks the languages of the slice it hits, and not only in strong words: sarcasm
("thanks for charging me twice") and polite requests ("I'd appreciate a refund of the
duplicate charge") carry no angry vocabulary, and some texts avoid the phrases of
config/topics.yaml altogether, as real customers do.
"""

from __future__ import annotations

from streams.crisis_scenarios.phrasing import Phrasebook
from streams.crisis_scenarios.texts_ordinary import COMPANY

_COMMON = {
    "company": [COMPANY],
    "when": ["since this morning", "for an hour", "since 10 minutes", "since lunch", "today"],
    "amount": ["€49", "$29", "€12.99", "$120", "€240", "$9.99"],
    "page": ["the dashboard", "the login page", "the app", "the API", "the reports page"],
}


def _book(templates: dict[str, list[str]], **slots: list[str]) -> Phrasebook:
    filled = {**_COMMON, **slots}
    return Phrasebook(templates, {lang: filled for lang in ("en", "de", "fr", "es")})


OUTAGE = _book(
    {
        "en": [
            "Is {company} down? {page} won't load",
            "503 on every page, nothing works",
            "Great, {company} down right before my demo. Thanks a lot.",
            "Hi, I can't reach {page} {when}, is there an outage?",
            "Service unavailable for our whole team",
            "{page} not loading at all, anyone else?",
            "Love paying for a service that's down more than it's up",
            "Error 502 again. Is there a status page?",
            "Everything is timing out, can't get any work done",
            "Outage? Spinning wheel forever on {page}",
        ],
        "de": [
            "Ist {company} down? {page} lädt nicht",
            "Fehler 503 überall, nichts geht mehr",
            "Super, Ausfall genau vor meiner Präsentation. Danke auch.",
            "Hallo, {page} ist {when} nicht erreichbar, gibt es eine Störung?",
        ],
        "fr": [
            "{company} est en panne ? {page} ne charge plus",
            "Erreur 503 partout, plus rien ne marche",
            "Génial, panne juste avant ma démo. Merci bien.",
            "Bonjour, impossible d'accéder à {page} {when}, une panne en cours ?",
        ],
        "es": [
            "¿Se cayó {company}? {page} no carga",
            "Error 503 en todas partes, nada funciona",
            "Genial, caído justo antes de mi demo. Gracias.",
        ],
    },
)

BILLING = _book(
    {
        "en": [
            "I was charged twice for {month}",
            "Thanks for charging me twice this month, very generous of me",
            "Great people, but I'd appreciate a refund of the duplicate charge",
            "Two identical payments of {amount} on my card statement",
            "Hello, I see a duplicate charge for my subscription, could you please look into it?",
            "Double charged again. Love paying double.",
            "My bank shows {amount} taken twice on the same day, please fix",
            "Charged me twice?? for one plan. Refund please",
            "Kindly reverse the second {amount} payment, I only have one account",
            "Why are there two invoices for {month}?",
            "Was billed twice, would be grateful if someone could check",
            "Nice surprise on my statement: {company}, twice",
        ],
        "de": [
            "Mir wurde das Abo für {month} doppelt abgebucht",
            "Doppelte Abbuchung von {amount}, bitte erstatten",
            "Danke für die zweite Abbuchung, sehr großzügig von mir",
            "Guten Tag, ich sehe zwei Zahlungen über {amount}, können Sie das prüfen?",
        ],
        "fr": [
            "J'ai été débité deux fois pour {month}",
            "Merci pour le double prélèvement, vraiment top",
            "Bonjour, deux paiements de {amount} sur mon relevé, pourriez-vous "
            "rembourser le doublon ?",
        ],
        "es": [
            "Me cobraron dos veces la suscripción de {month}",
            "Gracias por cobrarme doble, qué detalle",
            "Hola, veo dos cargos de {amount}, ¿podrían reembolsar uno?",
        ],
    },
    month=["March", "this month", "my renewal", "the annual plan", "last month"],
)

PAYMENT = _book(
    {
        "en": [
            "Card declined at checkout but my bank says everything is fine",
            "Payment failed three times, can't renew my plan",
            "Checkout keeps saying payment failed",
            "Hello, our payment is being declined {when}, is there a known issue?",
            "Love how you make it impossible to give you money",
            "Tried three cards, all rejected. Is your payment system ok?",
            "Can't upgrade, the card form just errors out",
            "Would appreciate help, my renewal payment won't go through",
        ],
        "de": [
            "Zahlung schlägt fehl, Karte wird abgelehnt",
            "Kann nicht bezahlen, Fehler beim Checkout {when}",
            "Guten Tag, unsere Zahlung wird {when} abgelehnt, ist das ein bekanntes Problem?",
            "Drei Karten probiert, alle abgelehnt. Toll.",
            "Verlängerung klappt nicht, die Zahlung geht nicht durch",
        ],
        "fr": [
            "Paiement refusé alors que ma carte marche partout ailleurs",
            "Impossible de payer, erreur au moment de valider {when}",
            "Bonjour, notre paiement est refusé {when}, problème connu ?",
            "Trois cartes essayées, toutes refusées. Bravo.",
        ],
        "es": [
            "El pago falla una y otra vez",
            "Tarjeta rechazada al pagar, mi banco dice que todo está bien",
            "Hola, nuestro pago se rechaza {when}, ¿hay algún problema?",
            "Me encanta que sea imposible pagaros",
        ],
    },
)

RECALL_SOCIAL = _book(
    {
        "en": [
            "Just got an email that my {product} is recalled?? Mine was {hazard_adj} last week",
            "Do I need to stop using my {product} right now?",
            "{company} recalling the {product}. Glad I never plugged mine in overnight",
            "So the {product} recall, how do I get a replacement?",
            "Unplugged my {product} after reading about the recall. Thanks for the heads up",
            "My {product} got {hazard_adj} too, thought it was just me",
            "Is the {product} recall worldwide or just some batches?",
        ],
        "de": [
            "Mein {product} wird zurückgerufen? Muss ich ihn sofort abstecken?",
            "Rückruf beim {product}, wie bekomme ich Ersatz?",
        ],
        "fr": [
            "Mon {product} est rappelé ? Je dois le débrancher ?",
            "Rappel du {product} : comment obtenir un remplacement ?",
        ],
        "es": [
            "¿Retiran el {product}? ¿Lo desenchufo ya?",
            "Retirada del {product}, ¿cómo lo cambio?",
        ],
    },
    hazard_adj=["really hot", "smoking", "burning hot", "sparking"],
)

RECALL_NEWS = _book(
    {
        "en": [
            "{company} recalls {product} over {hazard} risk",
            "{product} recall: what owners need to know",
            "Regulator asks {company} to recall {product} units",
            "{company} tells {product} owners to unplug devices after {hazard} reports",
            "Thousands of {product} devices recalled for {hazard} risk",
        ],
        "de": [
            "{company} ruft {product} wegen Brandgefahr zurück",
            "Rückruf: {product} von {company}",
        ],
        "fr": [
            "{company} rappelle le {product} pour risque de surchauffe",
            "Rappel du {product} : ce qu'il faut savoir",
        ],
        "es": ["{company} retira el {product} por riesgo de sobrecalentamiento"],
    },
    hazard=["overheating", "fire", "battery", "electrical"],
)

RECALLED_PRODUCTS = ("Hub Mini", "Tracker Go", "PowerDock 2", "Northwind Plug S")

PLAN = _book(
    {
        "en": [
            "Our SSO login fails for the whole team {when}",
            "SAML sign-in broken for our organisation, please escalate",
            "Hi, none of our seats can access the admin console {when}, could you escalate?",
            "Audit log export times out on our workspace",
            "Our account manager is not answering and SSO is down for all {seats} users",
            "Enterprise workspace: users bounced back to the sign-in page in a loop",
            "Wonderful, the one day our auditors visit the admin console is gone",
            "Would appreciate an update, {seats} people waiting on the SSO issue",
        ],
        "de": [
            "SSO-Anmeldung für unser ganzes Team fehlgeschlagen {when}",
            "Die Admin-Konsole ist für unsere {seats} Nutzer nicht erreichbar",
        ],
        "fr": [
            "La connexion SSO échoue pour toute l'équipe {when}",
            "Console d'administration inaccessible pour nos {seats} utilisateurs",
        ],
        "es": ["El inicio de sesión SSO falla para todo el equipo {when}"],
    },
    seats=["40", "120", "250", "600", "1,200"],
)

# Neutral wire stories: each decoy picks one and every outlet rewrites its facts a little.
STORIES: tuple[tuple[str, ...], ...] = (
    (
        "{company} to open data centre in {city}",
        "{company} opens new {city} data centre",
        "{company} announces {money} data centre in {city}",
        "{company} picks {city} for new data centre",
        "New {company} data centre coming to {city}",
        "{company} plans {city} data centre with {money} investment",
        "{company} to build data centre in {city}: report",
        "{city} to host {company}'s next data centre",
        "{company} to open a data centre in {city}. The software company said on Tuesday it "
        "would invest {money} in the site, which opens next year.",
    ),
    (
        "{company} names {person} as chief executive",
        "{company} appoints {person} CEO",
        "{person} to lead {company} as new CEO",
        "{company} picks {person} as its next chief executive",
        "New CEO at {company}: {person} takes over",
        "{company} hires {person} as CEO, effective next month",
        "{company} appoints former cloud executive {person} as chief executive, replacing "
        "its co-founder who becomes chair of the board.",
    ),
    (
        "{company} partners with {partner} on small business tools",
        "{partner} and {company} announce partnership",
        "{company}, {partner} team up for small firms",
        "{partner} to bundle {company} software for business customers",
        "{company} signs distribution deal with {partner}",
        "{partner} and {company} sign a partnership to offer {company}'s tools to small "
        "businesses in {city} and other markets.",
    ),
)
STORY_SLOTS = {
    "city": ["Frankfurt", "Dublin", "Singapore", "Madrid", "Toronto", "Osaka"],
    "money": ["$200 million", "€150 million", "$1 billion", "€400 million"],
    "person": ["Maria Jensen", "Daniel Okafor", "Priya Raman", "Luc Moreau"],
    "partner": ["Telenordic", "Banco Sol", "Pacific Telecom", "Metro Bank"],
}
