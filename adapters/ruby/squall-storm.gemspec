# frozen_string_literal: true

# squall's multilang adapter for Ruby, installable on its own:
#   gem build squall-storm.gemspec && gem install --local squall-storm-0.1.0.gem
# (from adapters/ruby; nothing to download).
Gem::Specification.new do |s|
  s.name = 'squall-storm'
  s.version = '0.1.0'
  s.summary = "squall's multilang adapter for Ruby, API-compatible with Apache Storm's storm.rb"
  s.description = <<~DESC
    require 'storm' gives the API of Apache Storm's storm.rb (Storm::Bolt,
    Storm::BasicBolt, Storm::Spout, emit, ack, fail, log, ...) for spouts and
    bolts run by squall or Storm; require 'storm/testing' a harness that runs
    a spout or bolt in a unit test (minitest or any other) without a topology.
  DESC
  s.authors = ['The squall authors']
  s.license = 'Apache-2.0'
  s.required_ruby_version = '>= 2.7'
  # storm.rb stays where squall embeds it from, at the top of this
  # directory, so the gem's require path is the directory itself.
  s.files = ['storm.rb', 'storm/testing.rb', 'README.md']
  s.require_paths = ['.']
  s.metadata['rubygems_mfa_required'] = 'true'
end
