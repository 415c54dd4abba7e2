"""scripts/build_domains.py: the clean prose outside news that the looks are fitted and measured on."""

import gzip

import pytest

from tests.conftest import script


@pytest.fixture(scope="module")
def domains():
    yield from script("build_domains")


DICT = """00-database-info
     This file was converted.

abstract data type
ADT

   <programming> (ADT) A kind of {data abstraction} where a
   type's internal form is hidden.

   {Reynolds paper
   (http://cis.upenn.edu/taoop94.html)}.

   (2003-07-03)

abstract interpretation

   <theory> A partial execution of a program.
"""


def test_a_dictd_dictionary_gives_each_entry_its_prose_without_links_urls_or_dates(domains, tmp_path):
    path = tmp_path / "foldoc.dict.dz"
    path.write_bytes(gzip.compress(DICT.encode()))
    assert domains.dictd_entries(path) == [
        ["(ADT) A kind of data abstraction where a type's internal form is hidden."],
        ["A partial execution of a program."],
    ]


def test_a_dictd_dictionary_gives_its_headwords_in_order_without_aliases_or_header(domains, tmp_path):
    path = tmp_path / "foldoc.dict.dz"
    path.write_bytes(gzip.compress(DICT.encode()))
    assert domains.dictd_headwords(path) == ["abstract data type", "abstract interpretation"]
