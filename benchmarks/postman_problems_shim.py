"""postman_problems for the benchmark only: installed apart from the product and patched to run on today's libraries.

postman_problems (PyPI 0.3, the latest) pins ``networkx==2.0`` and was written for pandas 0.x. It is installed
here with ``pip install --no-deps --target benchmarks/.cache/postman_problems`` (never into the product's
dependencies) and imported from that folder with two documented patches, nothing else changed:

1. ``graph.create_networkx_graph_from_edgelist`` read a row's first columns with ``row[0]``; pandas 2+ reads
   integer keys as labels, so the patch uses ``row.iloc[0]``, ``row.iloc[1]`` and ``row.iloc[2:]``.
2. ``graph.dedupe_matching`` expected networkx 1.x's ``max_weight_matching`` dict (node → mate); networkx 2+
   returns a set of pairs, which the patch accepts as well.

The algorithm itself (shortest paths between every pair of odd nodes, networkx's blossom on their complete
graph, an Euler circuit) is the library's own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

TARGET = Path(__file__).resolve().parent / ".cache" / "postman_problems"
VERSION = "0.3"


def load() -> Any:
    """The patched ``postman_problems.solver`` module (installing the package into :data:`TARGET` if needed)."""
    if not (TARGET / "postman_problems").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                str(TARGET),
                f"postman_problems=={VERSION}",
            ],
            check=True,
        )
    if str(TARGET) not in sys.path:
        sys.path.insert(0, str(TARGET))
    import networkx as nx
    from postman_problems import graph, solver

    def create_networkx_graph_from_edgelist(edgelist: Any, edge_id: str = "id") -> Any:
        g = nx.MultiGraph()
        for i, (_, row) in enumerate(edgelist.iterrows()):
            attrs = row.iloc[2:].to_dict()
            attrs.setdefault(edge_id, i)
            g.add_edge(row.iloc[0], row.iloc[1], **attrs)
        return g

    def dedupe_matching(matching: Any) -> list[tuple[Any, Any]]:
        pairs = matching.items() if isinstance(matching, dict) else matching
        return list({tuple(sorted(p)) for p in pairs})

    graph.create_networkx_graph_from_edgelist = create_networkx_graph_from_edgelist
    graph.dedupe_matching = dedupe_matching
    solver.create_networkx_graph_from_edgelist = create_networkx_graph_from_edgelist
    solver.dedupe_matching = dedupe_matching
    return solver
