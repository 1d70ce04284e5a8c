"""Analysis: pure measures over frames and a travel-time table or cost matrix (coverage;
next, access rules, 2SFCA, location-allocation). Plain arguments in, frames out: nothing
here sees the Config."""
