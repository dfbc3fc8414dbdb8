# The backend's settings are saved in the working directory: a sensitive variable, even
# through a local, must not reach them. Found when the arguments are evaluated.
variable "db_password" {
  type      = string
  sensitive = true
  default   = "hunter2"
}

locals {
  conn = "postgres://app:${var.db_password}@db.internal/infra"
}

inferform {
  backend "pg" {
    conn_str = local.conn
  }
}

resource "inferform_data" "a" {
  input = "x"
}
