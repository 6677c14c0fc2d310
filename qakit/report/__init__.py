"""The QA report and the notebooks' display, by concern (import the module you need; this package
imports none of them, so a notebook that loads data does not pay for papermill and nbconvert):

- :mod:`qakit.report.params` -- the report's parameters, checked before any kernel starts;
- :mod:`qakit.report.data` -- loading: the validated tables of one run, restricted to its period
  (:class:`~qakit.report.data.ReportData`, :func:`~qakit.report.data.load_report_data`,
  :func:`~qakit.report.data.load_optional_tables`);
- :mod:`qakit.report.targets` -- KPI targets and their status;
- :mod:`qakit.report.tiles` -- the analysis behind the headline tiles, agents' verdicts, coaching
  gaps and the rows left out;
- :mod:`qakit.report.common` -- what every section shares (HTML snippets, CSS, colours, ``quiet``);
- :mod:`qakit.report.display` -- tables and figures for people (rounding for display only, labels);
- :mod:`qakit.report.views` -- the report's core sections (title, tiles, agents, categories,
  trends, customer KPIs, customers, IQS-CSAT, appendix);
- :mod:`qakit.report.operations` -- the optional sections (calls, QA process, automatic scoring);
- :mod:`qakit.report.study` -- tables and figures of the study, coaching and calibration notebooks;
- :mod:`qakit.report.run` -- scheduled runs: papermill, static HTML, atomic publishing
  (:func:`~qakit.report.run.run_report`);
- :mod:`qakit.report.pdf` -- the HTML report printed to PDF with headless Chromium.

Imports go one way, down this list's layers: ``params`` and ``targets`` < ``data`` < ``tiles`` <
``views`` / ``operations`` / ``study`` < ``run`` (``tests/test_import_graph.py`` checks there is
no cycle).
"""
