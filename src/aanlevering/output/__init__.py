"""Writing the delivery files (CSV, FHIR NDJSON, FHIR Bundles) with checksums for the manifest."""
