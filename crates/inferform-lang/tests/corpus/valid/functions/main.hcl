# Every built-in function the README lists, each called once with known arguments.

locals {
  numbers = {
    abs   = abs(-4.5)
    ceil  = ceil(1.2)
    floor = floor(1.8)
    max   = max(3, 9, 4)
    min   = min(3, 9, 4)
  }
  strings = {
    chomp      = chomp("line\n")
    endswith   = endswith("model.gguf", ".gguf")
    format     = format("%s-%03d-%.2f-%q-%v%%", "chat", 7, 3.14159, "q", true)
    join       = join(",", ["a", "b", "c"])
    lower      = lower("LLaMA")
    replace    = replace("llm-dev-1", "-", "_")
    split      = split(",", "a,b,c")
    startswith = startswith("fabric_workspace", "fabric_")
    substr     = substr("inference", 2, 4)
    title      = title("service instance")
    trim       = trim("--chat--", "-")
    trimprefix = trimprefix("llm-chat", "llm-")
    trimspace  = trimspace("  padded  ")
    trimsuffix = trimsuffix("chat.hcl", ".hcl")
    upper      = upper("chat")
  }
  collections = {
    coalesce = coalesce(null, "", "fallback")
    compact  = compact(["a", "", null, "b"])
    concat   = concat(["a"], ["b", "c"])
    contains = contains(["dev", "prod"], "prod")
    distinct = distinct([1, 2, 2, 3, 1])
    element  = element(["a", "b", "c"], 4)
    flatten  = flatten([["a"], [["b"], "c"], []])
    keys     = keys({ b = 1, a = 2 })
    length   = length("héllo")
    lookup   = lookup({ small = 1 }, "large", 8)
    merge    = merge({ a = 1, b = 1 }, { b = 2 }, null)
    range    = range(1, 10, 3)
    reverse  = reverse([1, 2, 3])
    sort     = sort(["b", "c", "a"])
    values   = values({ b = 1, a = 2 })
    zipmap   = zipmap(["x", "y"], [1, 2])
  }
  conversions = {
    tolist   = tolist(["a", "b"])
    tomap    = tomap({ a = "1" })
    tonumber = tonumber("42")
    toset    = toset(["a", "b", "a"])
    tostring = tostring(12.5)
  }
  encodings = {
    base64decode = base64decode("aW5mZXJmb3Jt")
    base64encode = base64encode("inferform")
    jsondecode   = jsondecode("{\"a\": [1, true, null]}")
    jsonencode   = jsonencode({ b = [1, "two"], a = null })
    sha256       = sha256("inferform")
  }
  errors = {
    can_ok   = can(local.numbers.abs)
    can_fail = can(local.numbers.nope)
    try      = try(local.numbers.nope, "default")
  }
  files = {
    file         = file("notes.txt")
    templatefile = templatefile("greeting.tpl", { name = "inferform", zones = ["a", "b"] })
  }
  expanded = max([5, 1, 7]...)
}

resource "inferform_data" "functions" {
  input = {
    numbers     = local.numbers
    strings     = local.strings
    collections = local.collections
    conversions = local.conversions
    encodings   = local.encodings
    errors      = local.errors
    files       = local.files
    expanded    = local.expanded
  }
}
