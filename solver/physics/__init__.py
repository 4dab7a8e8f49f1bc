"""UFL forms as plain functions of their inputs: transport, mechanics, stress measures."""
