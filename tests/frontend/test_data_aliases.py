"""Vensim's data file aliases: ``GET DIRECT DATA('?sales data', ...)`` reads the file the model's
settings name on a line ``30:?sales data=sales.csv`` after ``:L<%^E!@`` (as the public model groupon 3
writes ``30:?groupon data=groupon data.xlsx``), relative to the model's folder. The values are the
CSV's points interpolated linearly between them (Vensim's default for data), computed by hand below."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sd

MODEL = """{UTF-8}
sales :=
\tGET DIRECT DATA('?Sales  Data', ',', 'A', 'B2')
\t~\twidgets/Month
\t~\t\t|

total sold = INTEG(sales, 0)
\t~\twidgets
\t~\t\t|

INITIAL TIME = 0 ~ Month ~|
FINAL TIME = 4 ~ Month ~|
TIME STEP = 1 ~ Month ~|
SAVEPER = 1 ~ Month ~|

\\\\\\---/// Sketch information - do not modify anything except names
V300  Do not put anything below this section - it will be ignored
*View 1
///---\\\\\\
:L<%^E!@
1:run.vdf
22:widget,widgets
{settings}
4:Time
5:sales
"""


def write(folder: Path, settings: str) -> Path:
    (folder / "data").mkdir()
    # points at months 0, 2, 4 (time in column A, values from B2 down)
    (folder / "data" / "sales.csv").write_text("month,sales\n0,10\n2,30\n4,20\n", encoding="utf-8")
    p = folder / "m.mdl"
    p.write_text(MODEL.replace("{settings}", settings), encoding="utf-8")
    return p


def test_alias_reads_the_file_the_settings_name(tmp_path: Path) -> None:
    model = sd.load(write(tmp_path, "30:?sales data=data/sales.csv"))  # alias matched ignoring case
    ds = model.run(outputs=["sales", "total sold"])
    # sales: 10 at 0, 30 at 2, 20 at 4, linear between -> 10, 20, 30, 25, 20
    np.testing.assert_allclose(ds["sales"].values[0], [10, 20, 30, 25, 20])
    # Euler, dt 1: total(t+1) = total(t) + sales(t) -> 0, 10, 30, 60, 85
    np.testing.assert_allclose(ds["total sold"].values[0], [0, 10, 30, 60, 85])


def test_alias_the_settings_do_not_define_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "30:?other data=data/sales.csv")
    with pytest.raises(sd.errors.DataFileError, match=r"m\.mdl:2 variable 'sales': the data file "
                       r"alias '\?Sales {1,2}Data' is not defined in the model's settings"):  # fmt: skip
        sd.load(path)


def test_alias_to_a_missing_file_names_file_and_alias(tmp_path: Path) -> None:
    path = write(tmp_path, "30:?sales data=data/nothere.csv")
    with pytest.raises(sd.errors.DataFileError, match=r"variable 'sales'.*'data/nothere\.csv' \(the "
                       r"alias '\?Sales {1,2}Data' in the model's settings\).*does not exist"):  # fmt: skip
        sd.load(path)
