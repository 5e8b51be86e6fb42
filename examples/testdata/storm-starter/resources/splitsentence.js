// storm-starter's splitsentence.js.
var storm = require('./storm');
var BasicBolt = storm.BasicBolt;

function SplitSentenceBolt() {
    BasicBolt.call(this);
};

SplitSentenceBolt.prototype = Object.create(BasicBolt.prototype);
SplitSentenceBolt.prototype.constructor = SplitSentenceBolt;

SplitSentenceBolt.prototype.process = function(tup, done) {
    var self = this;
    tup.values[0].split(" ").forEach(function(word) {
        self.emit({tuple: [word], anchorTupleId: tup.id}, function(taskIds) {});
    });
    done();
}

new SplitSentenceBolt().run();
