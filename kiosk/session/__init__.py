"""The patron's path through the kiosk, with no Kivy: which screen comes next, the
view data each screen renders, the wording through the catalogs, staff mode and
scripted runs. Tested without a window; the screens only draw what it decides."""
