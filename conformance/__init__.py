"""The W3C SPARQL 1.0 and 1.1 query test suites, run on plain pyoxigraph and through our /sparql path."""
