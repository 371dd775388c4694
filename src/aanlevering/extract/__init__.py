"""Extract EHR data (CSV exports, FHIR bulk export and Bundles) into Arrow tables."""
