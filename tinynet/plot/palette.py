"""Colour-blind-safe colours and projector-sized fonts, shared by the demo's figures.

The colours are Okabe and Ito's eight ("Color Universal Design", 2002), chosen to
stay apart for the common forms of colour blindness (deutan, protan, tritan) and
in greyscale print. Rates are told apart by colour *and* line style, classes by
colour *and* marker, so nothing rests on colour alone.
"""

OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9",
    "bluish green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
    "vermillion": "#D55E00", "reddish purple": "#CC79A7",
}

# one colour, line style and name per copy of the network (up to six on screen)
RATE_COLORS = tuple(OKABE_ITO[name] for name in
                    ("black", "vermillion", "blue", "bluish green", "reddish purple", "orange"))
RATE_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)))
COPY_NAMES = ("A", "B", "C", "D", "E", "F")

# classes: region fill (pale) and points (full colour, dark edge, own marker)
CLASS_COLORS = tuple(OKABE_ITO[name] for name in
                     ("sky blue", "orange", "bluish green", "reddish purple", "yellow", "blue"))
CLASS_MARKERS = ("o", "s", "^", "D", "v", "P")

# font sizes in points: legible from the back of a classroom (nothing under 14)
FONT_TITLE = 20
FONT_LABEL = 17
FONT_TICK = 15
FONT_LEGEND = 15
FONT_MIN = 14
