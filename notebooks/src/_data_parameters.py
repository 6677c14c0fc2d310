dataset: str = "sample"  # help: "sample" for the bundled data, or a folder with any of ratings, conversations, surveys (.parquet or .csv) and scorecard.yaml; what the data cannot support is left out and listed
ratings_path: str = ""  # help: a ratings file; empty means the dataset's
conversations_path: str = ""  # help: a conversations file; empty means the dataset's
surveys_path: str = ""  # help: a surveys file; empty means the dataset's
scorecard_path: str = ""  # help: scorecard YAML; empty means the dataset's scorecard.yaml
start: str = ""  # help: first day of the period, YYYY-MM-DD; empty means from the first row; with a start, changes are against the previous period of equal length
end: str = ""  # help: last day of the period, inclusive, YYYY-MM-DD; empty means to the last row
