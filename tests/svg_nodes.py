#!/usr/bin/env python3
"""svg_nodes.py SVG: one line per node of a Graphviz SVG, "id<TAB>its text
lines joined by ' | '", so that a test can grep the picture a person sees
(dot -Tsvg, go tool pprof -svg) rather than the graph's source."""
import html
import re
import sys

svg = open(sys.argv[1], encoding="utf-8").read()
for g in re.findall(r'<g id="[^"]*" class="node">(.*?)</g>', svg, re.S):
    title = html.unescape(re.search(r"<title>(.*?)</title>", g, re.S).group(1))
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", g, re.S)]
    print(title + "\t" + " | ".join(texts))
