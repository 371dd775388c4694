"""FHIR output: the pseudonymised Patient, minimised source resources, dataset records."""
