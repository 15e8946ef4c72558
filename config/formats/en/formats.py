"""English dates as a global service network reads them without doubt: day before month, the
month in letters, 24-hour time ("7 Dec 2026, 04:09"), not the US "Dec. 7, 2026, 4:09 a.m." or
"12/07/2026". What is not set here (input formats, separators) stays Django's English."""

DATE_FORMAT = "j M Y"  # 7 Dec 2026
TIME_FORMAT = "H:i"  # 04:09
DATETIME_FORMAT = "j M Y, H:i"  # 7 Dec 2026, 04:09
YEAR_MONTH_FORMAT = "F Y"  # December 2026
MONTH_DAY_FORMAT = "j F"  # 7 December
# The short forms too: "12/07/2026" is the 7th of December to some, the 12th of July to others.
SHORT_DATE_FORMAT = "j M Y"  # 7 Dec 2026
SHORT_DATETIME_FORMAT = "j M Y, H:i"  # 7 Dec 2026, 04:09
FIRST_DAY_OF_WEEK = 1  # Monday
