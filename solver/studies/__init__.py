"""Studies: scripted sets of case runs that answer one question from ../shared/docs/science.md."""
