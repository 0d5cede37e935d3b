"""Personalized offer engine: weekly star challenges for loyalty members.

Data flows one way: data -> features -> train -> candidates -> rules -> challenge -> serve -> events
-> experiments. See README.md for the two commands and ../shared/DOMAIN.md for what the product is for.
"""

__version__ = "0.1.0"
