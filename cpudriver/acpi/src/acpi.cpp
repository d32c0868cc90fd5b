// ACPI parser: see include/myr/acpi
