"""How the report is laid out: report.md and report.pptx from the same sections.

The Reporter decides what to say (:mod:`agents.reporter`); this module only places it: the
title slide with the headline figures, the summary slide, one slide per message with at most
one visual (a chart, else a table), then the appendix. ``slide_text`` returns every text of the
deck, table cells included, for the Proofreader.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Inches, Pt

APPENDIX = "Appendix"
@dataclass(frozen=True)
class Headline:
    """One headline figure: a short label, the figure itself and one plain sentence."""

    label: str
    figure: str
    text: str


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Section:
    """One message (or one appendix item): its title, a few sentences and at most one visual
    (a chart; a table only when there is no chart)."""

    title: str
    body: list[str] = field(default_factory=list)
    figure: Path | None = None
    table: Table | None = None
    alt: str = ""  # the chart's caption in report.md


# Slide geometry (16:9, inches).
SLIDE_W, SLIDE_H, MARGIN = 13.333, 7.5, 0.6
BODY_TOP, BODY_BOTTOM = 1.55, 7.1


@dataclass(frozen=True)
class Document:
    """The report's content, in reading order."""

    title: str
    subtitle: str
    headlines: list[Headline]
    summary: str
    messages: list[Section]
    appendix: list[Section]
    appendix_note: str = "Model and table names appear only in this appendix."


# --- report.md -------------------------------------------------------------------------------

def markdown(doc: Document) -> str:
    """report.md: headline figures, summary, one section per message, then the appendix."""
    out = [f"# {doc.title}", "", f"_{doc.subtitle}_", "", "## Headline figures", ""]
    out += [f"- **{h.label}: {h.figure}.** {h.text}" for h in doc.headlines]
    out += ["", "## Executive summary", "", doc.summary, ""]
    for section in doc.messages:
        out += [f"## {section.title}", ""] + _md_section(section)
    out += [f"## {APPENDIX}", "", doc.appendix_note, ""]
    for section in doc.appendix:
        title = section.title.removeprefix(f"{APPENDIX}: ")
        out += [f"### {title[0].upper()}{title[1:]}", ""] + _md_section(section, all_=True)
    return "\n".join(out) + "\n"


def _md_section(section: Section, all_: bool = False) -> list[str]:
    """A message shows its chart, else its table; an appendix item may show both."""
    out = []
    for text in section.body:
        out += [text, ""]
    if section.figure is not None:
        out += [f"![{section.alt or section.title}](figures/{section.figure.name})", ""]
    if section.table is not None and (all_ or section.figure is None):
        out += _md_table(section.table) + [""]
    return out


def _md_table(table: Table) -> list[str]:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "/").replace("\n", " ") for c in cells) + " |"

    return [row(table.header), "|" + "---|" * len(table.header), *map(row, table.rows)]


# --- report.pptx -----------------------------------------------------------------------------

def deck(doc: Document, path: Path) -> str:
    """report.pptx: the title slide with the headline figures, the summary, one slide per
    message, then the appendix; returns every text of the deck (see :func:`slide_text`)."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(SLIDE_W), Inches(SLIDE_H)
    layout = prs.slide_layouts[5]  # "Title Only"
    _title_slide(prs.slides.add_slide(layout), doc)
    slide = prs.slides.add_slide(layout)
    _set_title(slide, "Executive summary")
    _text(slide, [doc.summary], BODY_TOP + 0.2, 4.8, size=20)
    for section in doc.messages:
        _section_slides(prs, section)
    for section in doc.appendix:
        title = section.title if section.title.startswith(APPENDIX) else (
            f"{APPENDIX}: {section.title}")
        # One visual per slide: an appendix item with a chart and a table shows the chart.
        _section_slides(prs, Section(title, section.body, section.figure,
                                     None if section.figure else section.table), small=True)
    prs.save(path)
    return slide_text(prs)


def slide_text(prs: Presentation) -> str:
    """Every text of the deck, table cells included (what the Proofreader reads)."""
    texts = []
    for slide in prs.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                texts.append(shape.text_frame.text)
            if shape.has_table:
                texts += [cell.text for row in shape.table.rows for cell in row.cells]
    return "\n".join(texts)


def _set_title(slide: object, text: str, size: int = 28) -> None:
    title = slide.shapes.title
    title.left, title.top = Inches(MARGIN), Inches(0.35)
    title.width, title.height = Inches(SLIDE_W - 2 * MARGIN), Inches(1.1)
    title.text = text
    frame = title.text_frame
    frame.word_wrap = True
    for paragraph in frame.paragraphs:
        paragraph.alignment = PP_ALIGN.LEFT
        paragraph.font.size = Pt(size if len(text) <= 70 else size - 4)
        paragraph.font.bold = True


def _title_slide(slide: object, doc: Document) -> None:
    _set_title(slide, doc.title, size=32)
    _text(slide, [doc.subtitle], 1.4, 0.5, size=14, colour="666666")
    cards = doc.headlines
    gap = 0.3
    width = (SLIDE_W - 2 * MARGIN - gap * (len(cards) - 1)) / len(cards)
    for i, card in enumerate(cards):
        left = MARGIN + i * (width + gap)
        box = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(left), Inches(2.3),
                                     Inches(width), Inches(3.6))
        box.shadow.inherit = False
        box.fill.solid()
        box.fill.fore_color.rgb = RGBColor(0xF3, 0xF5, 0xF8)
        box.line.fill.background()
        frame = box.text_frame
        frame.word_wrap = True
        frame.vertical_anchor = MSO_ANCHOR.TOP
        for j, (text, size, bold, colour) in enumerate((
                (card.label.upper(), 12, True, "666666"),
                (card.figure, 28 if len(card.figure) <= 8 else 24, True, "1F3B5C"),
                (card.text, 14, False, "222222"))):
            paragraph = frame.paragraphs[0] if j == 0 else frame.add_paragraph()
            paragraph.text = text
            paragraph.alignment = PP_ALIGN.LEFT
            paragraph.space_after = Pt(8)
            paragraph.font.size, paragraph.font.bold = Pt(size), bold
            paragraph.font.color.rgb = RGBColor.from_string(colour)


def _section_slides(prs: Presentation, section: Section, small: bool = False) -> None:
    """The section's slide; a table too long for it continues on the next slides."""
    layout = prs.slide_layouts[5]
    slide = prs.slides.add_slide(layout)
    title_size = 24 if small else 28
    _set_title(slide, section.title, size=title_size)
    top = BODY_TOP
    body_height = 0.35 + 0.32 * sum(max(1, len(t) // 150 + 1) for t in section.body)
    visual = section.figure is not None or section.table is not None
    if section.body:
        # Text above a visual is short; a slide without one gives it the room.
        height = body_height if visual else BODY_BOTTOM - top
        _text(slide, section.body, top, height, size=13 if visual else 16)
        top += body_height if visual else 0
    if section.figure is not None:
        _picture(slide, section.figure, top, BODY_BOTTOM)
    elif section.table is not None:
        size = 10 if small else 13
        widths = _column_widths(section.table)
        pages = _pages(section.table, widths, size, BODY_BOTTOM - top, BODY_BOTTOM - BODY_TOP)
        _table(slide, pages[0], top, widths, size)
        for page in pages[1:]:
            slide = prs.slides.add_slide(layout)
            _set_title(slide, f"{section.title} (continued)", size=title_size)
            _table(slide, page, BODY_TOP, widths, size)


def _text(slide: object, paragraphs: list[str], top: float, height: float, size: int,
          colour: str = "222222") -> None:
    box = slide.shapes.add_textbox(Inches(MARGIN), Inches(top), Inches(SLIDE_W - 2 * MARGIN),
                                   Inches(height))
    frame = box.text_frame
    frame.word_wrap = True
    for i, text in enumerate(paragraphs):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = text
        paragraph.space_after = Pt(6)
        paragraph.font.size = Pt(size)
        paragraph.font.color.rgb = RGBColor.from_string(colour)


def _picture(slide: object, path: Path, top: float, bottom: float) -> None:
    with Image.open(path) as image:
        ratio = image.width / image.height
    height = bottom - top
    width = min(SLIDE_W - 2 * MARGIN, height * ratio)
    height = width / ratio
    left = (SLIDE_W - width) / 2
    slide.shapes.add_picture(str(path), Inches(left), Inches(top), Inches(width), Inches(height))


def _column_widths(table: Table) -> list[float]:
    """Columns as wide as their longest text needs (within limits), so long text wraps."""
    longest = [min(max(len(str(row[c])) for row in [table.header, *table.rows]), 60) + 4
               for c in range(len(table.header))]
    width = SLIDE_W - 2 * MARGIN
    return [width * length / sum(longest) for length in longest]


def _row_height(cells: list[str], widths: list[float], size: int) -> float:
    """Inches a row needs: its tallest cell's wrapped lines (a glyph is about half the font
    size wide) plus the cell margins."""
    per_inch = 144 / size
    lines = max(math.ceil(max(len(str(text)), 1) / max(width * per_inch - 2, 1))
                for text, width in zip(cells, widths))
    return lines * size * 1.25 / 72 + 0.12


def _pages(table: Table, widths: list[float], size: int, first: float,
           others: float) -> list[Table]:
    """``table`` split into pages that fit ``first`` inches, then ``others`` inches each."""
    header = _row_height(table.header, widths, size)
    pages, rows, used, room = [], [], header, first
    for row in table.rows:
        height = _row_height(row, widths, size)
        if rows and used + height > room:
            pages.append(Table(table.header, rows))
            rows, used, room = [], header, others
        rows.append(row)
        used += height
    pages.append(Table(table.header, rows))
    return pages


def _table(slide: object, table: Table, top: float, widths: list[float], size: int) -> None:
    rows = [table.header, *table.rows]
    heights = [_row_height(row, widths, size) for row in rows]
    shape = slide.shapes.add_table(len(rows), len(table.header), Inches(MARGIN), Inches(top),
                                   Inches(sum(widths)), Inches(sum(heights)))
    grid = shape.table
    for c, width in enumerate(widths):
        grid.columns[c].width = Emu(int(Inches(width)))
    for r, cells in enumerate(rows):
        grid.rows[r].height = Emu(int(Inches(heights[r])))
        for c, text in enumerate(cells):
            cell = grid.cell(r, c)
            cell.text = str(text)
            for paragraph in cell.text_frame.paragraphs:
                paragraph.font.size = Pt(size)
                paragraph.font.bold = r == 0
