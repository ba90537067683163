"""A knowledge graph of one news article, and the SPARQL endpoint that publishes it."""
