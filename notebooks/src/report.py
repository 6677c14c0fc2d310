# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags
#     notebook_metadata_filter: kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
# %include _data_parameters.py  (the data parameters every data notebook shares: one copy)
last_days: int = 0  # help: with no start, report only the last N days of data and compare with the N days before, 0 means all data, e.g. -p last_days 28 for a rolling scheduled report
group_by: str = ""  # help: column to break IQS and CSAT down by (team, channel, agent_id ...); empty means team when the data has it, else channel
period: str = "W"  # help: trend period: D, W, M or Q
min_n: int = 30  # help: groups with fewer observations are flagged as small samples
cost_per_contact: float = 5.0  # help: support cost of one contact, for the customer cost-versus-value section
hash_customer_ids: bool = True  # help: show customer ids hashed; set False only for internal reports
targets: dict = {}  # help: KPI targets with owners, e.g. {"iqs": {"target": 85, "owner": "QA lead"}}; empty means the registry defaults (IQS 85, pass rate 80, CSAT 90, NPS 30, first response 1 h, SLA 95, service level 80); margin is the width of the at-risk band
engine: str = "pandas"  # help: where review scoring and the customer KPIs run: pandas, or duckdb to read the Parquet files with DuckDB, same numbers
engine_memory: str = ""  # help: with engine duckdb, the memory DuckDB may use before it spills to a temporary folder, e.g. 3GB; empty means QAKIT_DUCKDB_MEMORY or 2GB; only the time depends on it
csv_folder: str = ""  # help: folder for the full tables as CSV; qakit report sets it to <output>/<name>-tables; empty means none

# %%
import qakit.report.checks as K
import qakit.report.data as R
import qakit.report.operations as O
import qakit.report.tiles as T
import qakit.report.views as V
import qakit.report.quality as Q

# %%
data = R.load_report_data(dataset=dataset, ratings_path=ratings_path, conversations_path=conversations_path, surveys_path=surveys_path, scorecard_path=scorecard_path, start=start, end=end, min_n=min_n, last_days=last_days, engine=engine, engine_memory=engine_memory)

# %%
R.load_optional_tables(data, dataset=dataset)

# %%
K.prepare_checks(data)

# %%
Q.load_coaching(data, dataset=dataset)

# %%
head = T.headline(data, targets)

# %%
V.title(data)

# %%
V.summary(data, head)

# %%
V.tiles(data, head)

# %%
V.left_out(data)

# %%
V.heading(data, "agents")

# %%
V.agent_forest(data)

# %%
V.agent_table(data)

# %%
V.heading(data, "categories")

# %%
V.category_figure(data)

# %%
V.agent_category_heatmap(data)

# %%
V.coaching_focus(data)

# %%
V.heading(data, "trends")

# %%
V.trend_figure(data, period=period)

# %%
V.group_table(data, by=group_by)

# %%
V.heading(data, "fair_comparison")

# %%
K.fair_comparison_section(data)

# %%
V.heading(data, "customer_kpis")

# %%
V.kpi_table(data)

# %%
V.time_table(data, by="channel")

# %%
V.sla_table(data)

# %%
V.backlog_figure(data, period=period)

# %%
V.heading(data, "customers")

# %%
V.costly_customers(data, cost_per_contact=cost_per_contact, hash_customer_ids=hash_customer_ids)

# %%
V.customer_value_figure(data, cost_per_contact=cost_per_contact)

# %%
V.heading(data, "iqs_csat")

# %%
V.iqs_csat_verdict(data)

# %%
V.iqs_csat_table(data)

# %%
V.heading(data, "survey_response")

# %%
K.survey_response_section(data)

# %%
V.heading(data, "coaching_effect")

# %%
Q.coaching_verdict(data)

# %%
Q.coaching_figure(data)

# %%
Q.coaching_effect_table(data)

# %%
V.heading(data, "scorecard_health")

# %%
Q.health_verdict(data)

# %%
Q.discrimination_figure(data)

# %%
Q.health_table(data, point_biserial=False)

# %%
Q.consistency_table(data)

# %%
V.heading(data, "calls")

# %%
O.calls_figure(data, period=period)

# %%
O.calls_table(data)

# %%
V.heading(data, "staffing")

# %%
K.staffing_section(data)

# %%
V.heading(data, "qa_process")

# %%
O.coverage_figure(data)

# %%
O.coverage_table(data)

# %%
O.disputes_summary(data)

# %%
O.reviewers_figure(data)

# %%
O.reviewers_table(data)

# %%
V.heading(data, "agreement")

# %%
K.agreement_section(data)

# %%
V.heading(data, "autoqa")

# %%
O.autoqa_summary(data)

# %%
O.autoqa_categories(data)

# %%
O.aqs_iqs_figure(data)

# %%
O.aqs_iqs_table(data)

# %%
V.heading(data, "data_quality")

# %%
V.data_quality(data)

# %%
O.data_quality(data)

# %%
V.heading(data, "appendix")

# %%
V.write_tables(data, csv_folder)

# %%
V.appendix_agents(data)

# %%
V.appendix_coaching(data)

# %%
O.write_tables(data, csv_folder, period=period)

# %%
O.appendix_coverage(data)

# %%
O.appendix_aqs(data)
