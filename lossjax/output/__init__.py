"""What a run leaves behind: result tables, records, run folders that resume,
figures and progress lines with their time split."""
