# Numbers: exact decimals, as Terraform computes them.
