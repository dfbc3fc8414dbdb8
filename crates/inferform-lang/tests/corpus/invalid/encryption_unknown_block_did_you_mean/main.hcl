variable "passphrase" {
  type      = string
  sensitive = true
  default   = "a passphrase of enough length"
}

inferform {
  encryption {
    key_provider "pbkfd2" "main" {
      passphrase = var.passphrase
    }
    method "aes_gcm" "main" {
      keys = key_provider.pbkfd2.main
    }
    stat {
      method = method.aes_gcm.main
    }
  }
}
