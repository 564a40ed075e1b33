"""The report's sections, one module each: `build(inputs)` takes the ReportInputs
(pipeline/reporting/model.py) and returns the section's data, or None to leave the section
out. Pure: mart rows in, plain frozen values out; the figures are the marts' (the code
selects, orders and caps rows). pipeline/reporting/registry.py lists them in page order."""
