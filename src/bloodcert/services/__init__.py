"""Use cases, one verb each, over a unit of work. None of them commits."""
