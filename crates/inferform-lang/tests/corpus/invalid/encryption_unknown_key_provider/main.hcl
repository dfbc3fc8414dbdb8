variable "passphrase" {
  type      = string
  sensitive = true
  default   = "a passphrase of enough length"
}

inferform {
  encryption {
    key_provider "pbkdf2" "main" {
      passphrase = var.passphrase
    }
    method "aes_gcm" "main" {
      keys = key_provider.pbkdf2.mian
    }
    state {
      method = method.aes_gcm.main
    }
  }
}
