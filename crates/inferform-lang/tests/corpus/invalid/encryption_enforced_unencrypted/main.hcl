inferform {
  encryption {
    method "unencrypted" "migrate" {}
    state {
      method   = method.unencrypted.migrate
      enforced = true
    }
  }
}
