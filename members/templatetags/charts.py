"""Server-rendered inline SVG charts: no JavaScript, no library, readable without CSS."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()

# Geometry in viewBox units; the SVG scales to its container's width.
WIDTH = 400
LABEL_HEIGHT = 18  # the row's label sits above its bar, so long names never squeeze the bar
BAR_HEIGHT = 18
ROW_GAP = 10
VALUE_SPACE = 44  # room at the right end for the row's total


@register.simple_tag
def horizontal_bar_chart(rows, series, *, labelledby="", describedby="", width=WIDTH):
    """A horizontal bar chart, one bar per row, stacked by series.

    ``rows``: [{"label": str, "values": {series_key: number}}]
    ``series``: [{"key": str, "label": str, "color": "#rrggbb"}], in stacking order.
    A smaller ``width`` draws the same text larger where the chart has a narrow column.
    The chart is an image for assistive technology (role="img"); the page must give the same
    figures as a table and point ``describedby`` at it.
    """
    largest = max((sum(row["values"].values()) for row in rows), default=0) or 1
    scale = (width - VALUE_SPACE) / largest
    row_height = LABEL_HEIGHT + BAR_HEIGHT + ROW_GAP
    height = max(len(rows) * row_height, row_height)
    parts = []
    for index, row in enumerate(rows):
        top = index * row_height
        bar_top = top + LABEL_HEIGHT
        parts.append(
            format_html(
                '<text class="chart-label" x="0" y="{}">{}</text>',
                top + LABEL_HEIGHT - 5,
                row["label"],
            )
        )
        x = 0.0
        total = 0
        for item in series:
            value = row["values"].get(item["key"], 0)
            if not value:
                continue
            bar_width = value * scale
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{}: {} {}</title></rect>",
                    f"{x:.2f}",
                    bar_top,
                    f"{bar_width:.2f}",
                    BAR_HEIGHT,
                    item["color"],
                    row["label"],
                    value,
                    item["label"].lower(),
                )
            )
            x += bar_width
            total += value
        parts.append(
            format_html(
                '<text class="chart-value" x="{}" y="{}">{}</text>',
                f"{x + 6:.2f}",
                bar_top + BAR_HEIGHT - 4,
                total,
            )
        )
    aria = format_html(' aria-labelledby="{}"', labelledby) if labelledby else ""
    if describedby:
        aria += format_html(' aria-describedby="{}"', describedby)
    return format_html(
        '<svg class="chart" role="img" viewBox="0 0 {} {}" width="100%"'
        ' preserveAspectRatio="xMinYMin meet"{}>{}</svg>',
        width,
        height,
        aria,
        mark_safe("".join(parts)),  # noqa: S308 - every part was built with format_html
    )


@register.simple_tag
def chart_legend(series):
    """The colour key of a chart, as a list readers and screen readers can follow."""
    items = format_html_join(
        "",
        '<li><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14"'
        ' fill="{}"/></svg> {}</li>',
        ((item["color"], item["label"]) for item in series),
    )
    return format_html('<ul class="chart-legend">{}</ul>', items)


@register.filter
def get_item(mapping, key):
    """``mapping[key]`` in a template (figures keyed by status), 0 when absent."""
    return mapping.get(key, 0)
