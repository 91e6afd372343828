"""The jobs export's sheet: a CSV Excel opens, one row per job, nothing Excel would run."""

from __future__ import annotations

import csv
import io

from backup.api.endpoints.job_export import SHEET_COLUMNS, jobs_sheet


def job(name: str, **properties: object) -> dict[str, object]:
    return {"name": name, "properties": {"activityID": name, "operation": "Backup", **properties}}


def test_one_row_per_job_under_a_header_with_a_bom() -> None:
    sheet = jobs_sheet(
        [
            job("j1", status="Completed", isUserTriggered=False, dataSourceName="disk-é"),
            job("j2", status="Failed", errorDetails=[{"code": "UserErrorDiskNotFound"}]),
        ]
    )
    assert sheet.startswith("\ufeff".encode())
    header, first, second = csv.reader(io.StringIO(sheet.decode("utf-8-sig")))
    assert header == [title for title, _ in SHEET_COLUMNS] + ["Error"]
    assert (first[0], first[2], first[4], first[9], first[-1]) == ("j1", "Completed", "disk-é", "false", "")
    assert (second[0], second[2], second[-1]) == ("j2", "Failed", "UserErrorDiskNotFound")


def test_a_value_excel_would_read_as_a_formula_stays_text() -> None:
    [_, row] = csv.reader(
        io.StringIO(jobs_sheet([job("j", dataSourceName="=HYPERLINK(1)")]).decode("utf-8-sig"))
    )
    assert row[4] == "'=HYPERLINK(1)"
