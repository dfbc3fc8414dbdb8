# Terraform's S3 backend is not one of inferform's.
inferform {
  backend "s3" {
    bucket = "team-state"
  }
}

resource "inferform_data" "a" {
  input = "x"
}
