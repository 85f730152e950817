"""Article -> Chunks: sections, windows, merging, plain text and the real-world corpus."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from indexer.articles import load_article, load_articles
from indexer.chunking import ChunkingOptions, chunk_article
from indexer.models import Article, Chunk

CORPUS = Path(__file__).parents[3].parent / "shared/datasets/officedocs-support/kb"
FILLER = "Check the cable, restart the device, and sign in again with your badge."  # 14 words


def make_article(
    body: str, *, title: str = "Printer jam", description: str = "", body_line: int = 1
) -> Article:
    return Article(
        id="desktop/printer-jam",
        path=Path("desktop/printer-jam.md"),
        title=title,
        body=body,
        body_line=body_line,
        description=description,
    )


def sections(chunks: list[Chunk]) -> list[str]:
    return [chunk.section for chunk in chunks]


def plain(chunk: Chunk) -> str:
    """The chunk's text without its "Title > Section" line."""
    return chunk.text.split("\n", 1)[1]


def test_h2_headings_start_sections_and_text_carries_title_and_section() -> None:
    chunks = chunk_article(make_article(f"## Fix it\n\n{FILLER}\n\n## When to call\n\n{FILLER}\n"))

    assert sections(chunks) == ["Fix it", "When to call"]
    assert chunks[0].text == f"Printer jam > Fix it\n{FILLER}"


def test_headings_inside_code_fences_are_not_sections() -> None:
    body = (
        f"## Fix it\n\n{FILLER}\n\n```bash\n# restart the spooler\n## not a heading\nnet stop spooler\n```\n"
    )

    chunks = chunk_article(make_article(body))

    assert sections(chunks) == ["Fix it"]
    assert "## not a heading\nnet stop spooler" in chunks[0].text


def test_setext_headings_start_sections() -> None:
    body = f"Printer jam\n===========\n\nFix it\n------\n\n{FILLER}\n\nCall us\n-------\n\n{FILLER}\n"

    chunks = chunk_article(make_article(body))

    assert sections(chunks) == ["Fix it", "Call us"]


def test_h3_section_is_named_by_its_heading_path() -> None:
    body = f"## Fix it\n\n{FILLER}\n\n### On a WOW\n\n{FILLER}\n\n## Call us\n\n### After hours\n\n{FILLER}\n"

    chunks = chunk_article(make_article(body))

    assert sections(chunks) == ["Fix it", "Fix it > On a WOW", "Call us > After hours"]
    assert chunks[1].text.startswith("Printer jam > Fix it > On a WOW\n")


def test_h3_before_any_h2_is_named_alone() -> None:
    body = f"### Laser printers\n\n{FILLER}\n\n### Label printers\n\n{FILLER}\n"

    chunks = chunk_article(make_article(body))

    assert sections(chunks) == ["Laser printers", "Label printers"]


def test_h4_headings_stay_inside_their_section() -> None:
    body = f"## Fix it\n\n{FILLER}\n\n#### Zebra printers\n\n{FILLER}\n"

    chunks = chunk_article(make_article(body))

    assert sections(chunks) == ["Fix it"]
    assert "Zebra printers" in chunks[0].text


def test_title_h1_is_not_a_section_and_not_repeated() -> None:
    chunks = chunk_article(make_article(f"# Printer jam\n\n{FILLER}\n\n## Fix it\n\n{FILLER}\n"))

    assert sections(chunks) == ["Overview", "Fix it"]
    assert plain(chunks[0]) == FILLER


def test_h1_that_differs_from_the_title_is_kept_as_overview_text() -> None:
    body = f'# "Error 0x8007" when you print\n\n## Fix it\n\n{FILLER}\n'

    chunks = chunk_article(make_article(body, description="Paper stuck in the tray."))

    assert sections(chunks) == ["Overview", "Fix it"]
    assert plain(chunks[0]) == 'Paper stuck in the tray.\n"Error 0x8007" when you print'


def test_intro_is_the_overview_led_by_the_description() -> None:
    body = f"# Printer jam\n\n{FILLER}\n\n## Fix it\n\n{FILLER}\n"

    chunks = chunk_article(make_article(body, description="What to do when paper is stuck."))

    assert chunks[0].section == "Overview"
    assert plain(chunks[0]) == f"What to do when paper is stuck.\n{FILLER}"


def test_description_alone_makes_an_overview() -> None:
    chunks = chunk_article(
        make_article(f"## Fix it\n\n{FILLER}\n", description="When paper is stuck in the tray.")
    )

    assert sections(chunks) == ["Overview", "Fix it"]
    assert plain(chunks[0]) == "When paper is stuck in the tray."


def test_long_section_is_split_into_overlapping_windows() -> None:
    words = [f"w{number}" for number in range(24)]
    options = ChunkingOptions(max_words=10, overlap_words=3, min_words=1)

    chunks = chunk_article(make_article("## Fix it\n\n" + " ".join(words) + "\n"), options)

    windows = [plain(chunk).split() for chunk in chunks]
    assert windows == [words[0:10], words[7:17], words[14:24]]
    assert sections(chunks) == ["Fix it"] * 3
    assert all(chunk.text.startswith("Printer jam > Fix it\n") for chunk in chunks)
    assert len({chunk.markdown for chunk in chunks}) == 1


def test_windows_are_evenly_sized_and_never_exceed_max_words() -> None:
    options = ChunkingOptions(max_words=10, overlap_words=2, min_words=1)

    chunks = chunk_article(make_article("## Fix it\n\n" + " ".join(["word"] * 11) + "\n"), options)

    assert [len(plain(chunk).split()) for chunk in chunks] == [7, 6]


def test_windows_keep_line_breaks() -> None:
    body = "## Steps\n\n" + "\n".join(f"- step {number} do this" for number in range(6)) + "\n"

    chunks = chunk_article(make_article(body), ChunkingOptions(max_words=8, overlap_words=2, min_words=1))

    assert plain(chunks[0]).startswith("step 0 do this\nstep 1 do this")


def test_small_section_is_merged_into_the_previous_chunk() -> None:
    body = f"## Fix it\n\n{FILLER}\n\n## Note\n\nCall x4357.\n\n## When to call\n\n{FILLER}\n"

    chunks = chunk_article(make_article(body))

    assert sections(chunks) == ["Fix it", "When to call"]
    assert plain(chunks[0]) == f"{FILLER}\nNote\nCall x4357."
    assert chunks[0].markdown.endswith("## Note\n\nCall x4357.")


def test_heading_without_text_merges_into_the_next_section() -> None:
    body = f"## Fix it\n\n### On a WOW\n\n{FILLER}\n\n## Tray\n## Paper\n\n{FILLER}\n"

    chunks = chunk_article(make_article(body))

    assert sections(chunks) == ["Fix it > On a WOW", "Paper"]
    assert plain(chunks[0]) == FILLER
    assert plain(chunks[1]) == f"Tray\n{FILLER}"
    assert chunks[0].markdown.startswith("## Fix it\n\n### On a WOW")
    assert chunks[0].line == 1


def test_line_is_the_file_line_of_the_section_heading() -> None:
    body = f"\n# Printer jam\n\nIntro. {FILLER}\n\n## Fix it\n\n{FILLER}\n"

    chunks = chunk_article(make_article(body, body_line=9))

    assert [chunk.line for chunk in chunks] == [12, 14]


def test_line_matches_the_file_after_loading(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text(
        f"---\ntitle: Printer jam\n---\n# Printer jam\n\n## Fix it\n\n{FILLER}\n", encoding="utf-8"
    )

    chunks = chunk_article(load_article(path, tmp_path))

    assert path.read_text(encoding="utf-8").split("\n")[chunks[0].line - 1] == "## Fix it"


def test_markdown_is_the_sections_original_markdown() -> None:
    section = f"## Fix it\n\n1. Open **tray 2**.\n2. {FILLER}\n\n| Model | Tray |\n|---|---|\n| HP | 2 |"

    chunks = chunk_article(make_article(f"# Printer jam\n\n{section}\n\n\n"))

    assert chunks[0].markdown == section


def test_ids_and_ordinals_count_from_zero() -> None:
    chunks = chunk_article(make_article(f"## A\n\n{FILLER}\n\n## B\n\n{FILLER}\n"))

    assert [(chunk.id, chunk.ordinal, chunk.article_id) for chunk in chunks] == [
        ("desktop/printer-jam#0", 0, "desktop/printer-jam"),
        ("desktop/printer-jam#1", 1, "desktop/printer-jam"),
    ]
    assert all(chunk.title == "Printer jam" for chunk in chunks)


def test_hash_is_the_sha256_of_the_text_and_stable() -> None:
    article = make_article(f"## Fix it\n\n{FILLER}\n")

    first, again = chunk_article(article)[0], chunk_article(article)[0]

    assert first.hash == hashlib.sha256(first.text.encode("utf-8")).hexdigest()
    assert again == first


def test_hash_changes_when_the_section_text_changes() -> None:
    before = chunk_article(make_article(f"## Fix it\n\n{FILLER}\n"))[0]
    after = chunk_article(make_article(f"## Fix it\n\n{FILLER} Then print again.\n"))[0]

    assert before.hash != after.hash


def test_article_with_only_a_title_yields_one_chunk_with_its_description() -> None:
    chunks = chunk_article(make_article("# Printer jam\n", description="Paper stuck in the tray."))

    assert [(chunk.section, chunk.text) for chunk in chunks] == [
        ("Overview", "Printer jam > Overview\nPaper stuck in the tray.")
    ]


def test_article_with_only_an_empty_heading_still_yields_a_chunk() -> None:
    chunks = chunk_article(make_article("## Fix it\n"))

    assert len(chunks) == 1
    assert chunks[0].text.startswith("Printer jam > ")


def test_emphasis_code_and_links_are_reduced_to_their_text() -> None:
    body = (
        "Open **Devices** and `printers`, then see [the guide](https://it.example/guide) or <https://x.test>."
    )

    chunks = chunk_article(make_article(body))

    assert plain(chunks[0]) == "Open Devices and printers, then see the guide or https://x.test."


def test_images_docfx_directives_includes_and_comments_are_removed() -> None:
    body = (
        'Click the icon (:::image type="icon" source="media/a_b.png":::) in the tray.\n\n'
        ':::image type="content" source="./media/x.png" alt-text="Screenshot *of* the tray.":::\n\n'
        "![Tray screenshot](media/tray.png)\n\n"
        "[!INCLUDE [Third-party disclaimer](../includes/third-party.md)]\n\n"
        "<!-- TODO: add a photo\nof the printer -->\n\n"
        'Name the value *:::no-loc text="AutoSave":::* and restart.\n'
    )

    chunks = chunk_article(make_article(body))

    assert plain(chunks[0]) == "Click the icon () in the tray.\nName the value AutoSave and restart."


def test_alert_markers_are_removed_and_their_text_kept() -> None:
    body = '> [!NOTE]\n> Save your work first.\n\n> [!div class="nextstepaction"]\n> [Run the test](https://aka.ms/x)\n'

    chunks = chunk_article(make_article(body))

    assert plain(chunks[0]) == "Save your work first.\nRun the test"


def test_html_tags_are_stripped_keeping_text_and_placeholders() -> None:
    body = (
        "<details>\n<summary><b>Restore a deleted page</b></summary>\n\n"
        "Sign in as <b>admin</b> &amp; run it for contoso\\<user>.<br>Then wait.\n\n</details>\n"
    )

    chunks = chunk_article(make_article(body))

    assert (
        plain(chunks[0]) == "Restore a deleted page\nSign in as admin & run it for contoso<user>.\nThen wait."
    )


def test_table_rows_become_lines_of_cells() -> None:
    body = (
        "| Model | Tray | Fix |\n|---|---|---|\n| HP 404 | 2 | Open **door B** |\n| Zebra | | [Reload](x) |\n"
    )

    chunks = chunk_article(make_article(body))

    assert plain(chunks[0]) == "Model | Tray | Fix\nHP 404 | 2 | Open door B\nZebra | Reload"


def test_list_items_are_on_their_own_lines_and_whitespace_is_collapsed() -> None:
    body = "1. Open   the\n   tray.\n2. Remove the paper.\n   - Gently.\n"

    chunks = chunk_article(make_article(body))

    assert plain(chunks[0]) == "Open the tray.\nRemove the paper.\nGently."


def test_code_is_kept_as_plain_text() -> None:
    body = "The error reads:\n\n```text\nError 0x80070005:   Access is denied.\n\n\nRetry later\n```\n"

    chunks = chunk_article(make_article(body))

    assert plain(chunks[0]) == "The error reads:\nError 0x80070005: Access is denied.\nRetry later"


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="overlap_words < max_words"):
        ChunkingOptions(max_words=10, overlap_words=10)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the officedocs-support corpus is not at {CORPUS}")
def test_the_officedocs_corpus_loads_and_chunks_without_a_crash() -> None:
    files = [
        path
        for path in CORPUS.rglob("*.md")
        if not any(part.startswith(".") for part in path.relative_to(CORPUS).parts)
    ]

    articles, problems = load_articles(CORPUS)

    assert len(articles) + len(problems) == len(files)
    chunk_ids: list[str] = []
    for article in articles:
        chunks = chunk_article(article)
        assert chunks, article.id
        assert all(chunk.text.startswith(f"{article.title} > ") for chunk in chunks)
        chunk_ids.extend(chunk.id for chunk in chunks)
    assert len(set(chunk_ids)) == len(chunk_ids)
