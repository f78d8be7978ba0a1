"""A small JPEG with odd sampling factors that tjTransform cannot classify.

64x48, made once with libjpeg-turbo's ``cjpeg -quality 90 -sample
2x1,1x2,1x1`` from a gradient with a magenta/green canary square at
x 24..39, y 16..31. Odd sampling is rare enough in the wild that no Python
encoder here can make it, so the 1.1 kB file is kept inline.
"""

from __future__ import annotations

import base64

ODD_SAMPLING_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoM"
    "DAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsN"
    "FBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAAR"
    "CAAwAEADASEAAhIBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAA"
    "AgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkK"
    "FhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWG"
    "h4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl"
    "5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREA"
    "AgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYk"
    "NOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOE"
    "hYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk"
    "5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD47t/BXT93+laVv4K6fu/0r/RnNMRufOZp"
    "iNz4vK8z21NO38FdP3f6VpW/gn/pn+lfC5piNz5zNMRufsGVZntqaVv4J6fu/wBK0rfwT/0z"
    "/Svhc0xG585mmI3P1/K8z21NK38FdP3f6Vp2/grp+7/Svhs0xG583mmI3P2DKsz21GW/grp+"
    "7/StO38FdP3f6V/eeaYjc+czTEbn+Q2VZntqaVv4J6fu/wBKfcf8t/8Atp/7Xr47GU/rVT+H"
    "z2/uc1v/AC3r2/8AJb/3raed7P61Ul+757f3Oa3/AJb17f8Akt/73T+svDXFfWaeJ8uT/wBu"
    "C4/5b/8AbT/2vXZ2/grp+7/Svi+KKf1WnT/d8l7/AGOW9rf9Q9C//k1v7vXzeNKf1WnR/d8l"
    "+b7HLf4f+oehf/ya392+v6RmuK+rVKXnf9DTt/BXT93+laVv4K6fu/0r8UzTEbnzmaYjc+my"
    "vM9tRtv4K6fu/wBK0rfwT0/d/pX955piNz5vNMRuf5DZXme2ppW/gnp+7/StK38E/wDTP9K+"
    "GzTEbnzmaYjc/YMrzPbU0rfwV0/d/pWnb+Cun7v9K+FzTEbnzmaYjc/YMrzPbU0rfwV0/d/p"
    "Wlb+Cen7v9K+FzTEbnzmaYjc/X8rzPbU/9k="
)
CANARY_BOX = (24, 16, 40, 32)  # x0, y0, x1, y1 in pixels (exclusive end)
