"""Sources: outside formats translated into gapmap's tables (listings, ODHF hospitals,
road networks, census, geocoders). Nothing here sees the Config as a whole."""
