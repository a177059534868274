"""What the accessibility tests measure in the browser: axe-core's findings
and horizontal overflow."""
from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now (needs a bypass_csp context:
    the page's CSP refuses an injected script, as it should)."""
    assert AXE.exists(), f"{AXE} is missing: run make setup"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate("""async (tags) => {
        const results = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                                 resultTypes: ["violations"]});
        return results.violations.map(v => ({id: v.id, impact: v.impact,
            nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary)}));
    }""", AXE_TAGS)


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
