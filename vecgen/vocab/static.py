"""Small curated lists for event-like columns (not person data, so not from mimesis)."""

from __future__ import annotations

CAMPAIGN_NAMES = (
    "Welcome Series",
    "Spring Sale",
    "Summer Clearance",
    "Back to School",
    "Black Friday",
    "Cyber Monday",
    "Holiday Gift Guide",
    "New Arrivals",
    "Loyalty Bonus",
    "Win-Back",
    "Abandoned Cart",
    "Birthday Offer",
    "Product Launch",
    "Weekly Newsletter",
    "Flash Sale",
)
EMAIL_FORMATS = ("HTML", "s/mime", "plaintext")
EMAIL_FORMAT_WEIGHTS = (70, 5, 25)
PAGES = (
    "/",
    "/home",
    "/search",
    "/cart",
    "/checkout",
    "/account",
    "/account/orders",
    "/wishlist",
    "/deals",
    "/new",
    "/stores",
    "/help",
    "/product/view",
    "/category/apparel",
    "/category/home",
    "/category/electronics",
    "/category/outdoor",
    "/category/toys",
    "/login",
    "/signup",
)
SITE = "https://www.example-shop.com"
REFERRERS = (
    "",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://www.facebook.com/",
    "https://t.co/",
    "https://www.instagram.com/",
    "https://www.pinterest.com/",
    "https://news.example.com/",
    "https://mail.example.com/",
)
TRACKING_CAMPAIGNS = (
    "",
    "em_welcome",
    "em_weekly",
    "sem_brand",
    "sem_generic",
    "soc_fb_retarget",
    "soc_ig_story",
    "aff_partner",
    "disp_holiday",
    "push_app",
)
LOYALTY_PROGRAMS = ("Acme Rewards", "Acme Rewards Plus", "Acme Elite Club")
LOYALTY_PROGRAM_WEIGHTS = (70, 25, 5)
LOYALTY_TIERS = ("Bronze", "Silver", "Gold", "Platinum", "Deluxe")
LOYALTY_TIER_WEIGHTS = (40, 30, 18, 9, 3)
REPORT_TYPES = ("Incident", "Near Miss", "Observation", "Injury")
REPORT_PRIORITIES = ("Critical", "Normal", "Low")
REPORT_PRIORITY_WEIGHTS = (10, 60, 30)
INJURY_DESCRIPTIONS = (
    "Slipped on wet floor near entrance",
    "Cut finger on broken display shelf",
    "Strained back lifting heavy box",
    "Tripped over unmarked step",
    "Bumped head on low signage",
    "Minor burn from coffee machine",
    "Hand caught in shopping cart",
    "Twisted ankle in parking lot",
    "Fell from step stool",
    "Struck by falling merchandise",
    "Allergic reaction in food court",
    "Bruised shin on pallet",
    "Eye irritation from cleaning spray",
    "Pinched fingers in door",
    "Dizziness while waiting in line",
    "Scraped knee on escalator",
)
APP_PAGES = (
    "home",
    "search",
    "product",
    "cart",
    "checkout",
    "orders",
    "rewards",
    "store_locator",
    "profile",
    "settings",
    "offers",
    "scan",
)
