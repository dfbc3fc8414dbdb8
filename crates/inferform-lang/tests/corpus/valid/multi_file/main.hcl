# A configuration split over files, with values from an auto-loaded var file and
# inferform.vars.hcl; var files are not configuration.

resource "inferform_data" "app" {
  input = {
    name     = local.name
    replicas = var.replicas
    labels   = var.labels
  }
}
