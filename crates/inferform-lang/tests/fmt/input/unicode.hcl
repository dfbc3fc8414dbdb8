locals {
  a = 1 # foo
  bungle = "🇬🇧" # baz
  zebra = "striped" # baz
  combining = "é" # e and a combining accent
  emoji = "👩‍💻" # joined
  x = 1
}
